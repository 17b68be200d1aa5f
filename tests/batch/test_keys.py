from __future__ import annotations

import hashlib
import os

from hepcal.batch.keys import DigestCache, content_key, file_sha256, series_key, with_context


def test_file_sha256_matches_hashlib_on_a_file_larger_than_a_chunk(tmp_path):
    data = os.urandom(3 * (1 << 20) + 17)
    f = tmp_path / "a.bin"
    f.write_bytes(data)
    assert file_sha256(f) == hashlib.sha256(data).hexdigest()


def test_series_key_is_a_safe_file_name():
    assert series_key("1.2.840.113619.2") == "uid-1.2.840.113619.2"
    odd = series_key("1.2/../3 4")
    assert "/" not in odd and " " not in odd
    assert len(series_key("1." * 200)) <= 120


def test_context_changes_the_key_only_when_there_is_context():
    k = content_key("ab" * 32)
    assert with_context(k, mask_digest=None, mask_label=None, overrides=()) == k
    a = with_context(k, mask_digest=None, mask_label=None, overrides=["patient.age_years=60"])
    b = with_context(k, mask_digest=None, mask_label=None, overrides=["patient.age_years=61"])
    assert a.startswith(k + "~") and a != b
    # order of the columns does not matter
    c1 = with_context(k, mask_digest="m", mask_label=1, overrides=["history.fever=true", "patient.sex=male"])
    c2 = with_context(k, mask_digest="m", mask_label=1, overrides=["patient.sex=male", "history.fever=true"])
    assert c1 == c2


def test_digest_cache_reuses_digest_until_the_file_changes(tmp_path, monkeypatch):
    f = tmp_path / "s.nii.gz"
    f.write_bytes(b"one")
    cache_file = tmp_path / "out" / "keys.json"
    cache = DigestCache(cache_file)
    d1 = cache.digest(f)
    cache.save()
    calls = []
    monkeypatch.setattr("hepcal.batch.keys.file_sha256", lambda p: calls.append(p) or "x")
    again = DigestCache(cache_file)
    assert again.digest(f) == d1 and calls == []
    f.write_bytes(b"two, longer")
    assert again.digest(f) == "x" and len(calls) == 1


def test_damaged_cache_is_ignored(tmp_path):
    cache_file = tmp_path / "keys.json"
    cache_file.write_text("{not json")
    f = tmp_path / "s.nii"
    f.write_bytes(b"abc")
    assert DigestCache(cache_file).digest(f) == hashlib.sha256(b"abc").hexdigest()
