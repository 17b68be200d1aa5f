"""How hard the patient summary is to read, in each language it is written in.

English: the Flesch–Kincaid grade, 0.39 · words/sentence + 11.8 · syllables/word − 15.59
(Kincaid et al. 1975), with words and sentences counted here and syllables from pyphen's bundled
hyphenation dictionary (no dictionary is downloaded at run time).

Chinese has no established grade formula of that kind; the summary is held to two explicit,
stated limits instead: mean sentence length (characters other than punctuation and spaces, a
sentence ending at 。！？；or a block end) and the share of Han characters that belong to the
GB 2312 level-1 set, the 3,755 characters the standard lists as commonly used. The set is derived
from Python's own ``gb2312`` codec (rows 16–55 of the code table), so nothing is downloaded.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html.parser import HTMLParser

import pyphen

_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "td", "th", "div", "figcaption"}
_HIDDEN = {"style", "script", "title", "head"}
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_ZH_SENTENCE_END = re.compile(r"[。！？；!?;]|(?<=[.])\s")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCT_OR_SPACE = re.compile(r"[\s\W_]", re.UNICODE)


class _Text(HTMLParser):
    """Collects the text a reader sees; each block ends a sentence (a heading is read alone)."""

    def __init__(self, end: str = ".") -> None:
        super().__init__()
        self.parts: list[str] = []
        self._cur: list[str] = []
        self._hidden = 0
        self._end = end

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
            self.parts.append(text if text[-1] in ".?!:。？！：；" else text + self._end)


def visible_text(html: str, *, end: str = ".") -> str:
    """The page's text as a reader meets it, one sentence or more per block (``end`` closes a bare block)."""
    parser = _Text(end)
    parser.feed(html)
    parser.close()
    parser._flush()
    return " ".join(parser.parts)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentence_count(text: str) -> int:
    """Sentences ending in . ! or ? (a final one without its mark counts too)."""
    pieces = [p for p in _SENTENCE_END.split(text) if words(p)]
    return len(pieces)


def flesch_kincaid_grade(text: str, lang: str = "en_US") -> float:
    """US school grade needed to read ``text`` (lower is easier)."""
    found = words(text)
    sentences = sentence_count(text)
    if not found or sentences == 0:
        return 0.0
    dic = pyphen.Pyphen(lang=lang)
    syllables = sum(len(dic.positions(w.lower())) + 1 for w in found)
    return 0.39 * len(found) / sentences + 11.8 * syllables / len(found) - 15.59


@lru_cache(maxsize=1)
def common_han() -> frozenset[str]:
    """The 3,755 level-1 (commonly used) characters of GB 2312: code rows 16–55 (lead bytes 0xB0–0xD7)."""
    out = set()
    for lead in range(0xB0, 0xD8):
        for trail in range(0xA1, 0xFF):
            try:
                out.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return frozenset(out)


def chinese_sentences(text: str) -> list[str]:
    return [s for s in (_PUNCT_OR_SPACE.sub("", p) for p in _ZH_SENTENCE_END.split(text)) if s]


def chinese_measures(text: str) -> dict[str, float]:
    """Mean sentence length in characters and the share of Han characters in the common set."""
    sentences = chinese_sentences(text)
    han = _HAN.findall(text)
    common = common_han()
    return {
        "sentences": float(len(sentences)),
        "mean_sentence_length": sum(map(len, sentences)) / len(sentences) if sentences else 0.0,
        "common_share": sum(c in common for c in han) / len(han) if han else 1.0,
        "han_characters": float(len(han)),
    }
