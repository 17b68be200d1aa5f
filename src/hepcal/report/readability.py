"""How hard the patient summary is to read: Flesch–Kincaid grade of its visible text.

textstat's own syllable count looks words up in the CMU dictionary, which it downloads on
first use; nothing in hepcal may download at run time, so the syllables here come from pyphen's
bundled hyphenation dictionary (textstat's own fallback) and the formula is textstat's:
0.39 · words/sentence + 11.8 · syllables/word − 15.59.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pyphen
import textstat

_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "td", "th", "div", "figcaption"}
_HIDDEN = {"style", "script", "title", "head"}


class _Text(HTMLParser):
    """Collects the text a reader sees; each block ends a sentence (a heading is read alone)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._cur: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden -= 1
        elif tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._cur.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._cur).split())
        self._cur = []
        if text:
            self.parts.append(text if text[-1] in ".?!:" else text + ".")


def visible_text(html: str) -> str:
    """The page's text as a reader meets it, one sentence or more per block."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser._flush()
    return " ".join(parser.parts)


def flesch_kincaid_grade(text: str, lang: str = "en_US") -> float:
    """US school grade needed to read ``text`` (lower is easier)."""
    words = textstat.lexicon_count(text)
    sentences = textstat.sentence_count(text)
    if words == 0 or sentences == 0:
        return 0.0
    dic = pyphen.Pyphen(lang=lang)
    syllables = sum(len(dic.positions(w)) + 1 for w in _words(text))
    return 0.39 * words / sentences + 11.8 * syllables / words - 15.59


def _words(text: str) -> list[str]:
    from textstat.backend.selections._list_words import list_words  # textstat's tokeniser

    return list_words(text, lowercase=True)
