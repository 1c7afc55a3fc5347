"""The bounded, atomic on-disk cache of synthesized sentences (audio + phoneme alignments)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from vitad.tts.cache import AudioCache, Speech, encode_entry, entry_bytes


def key(i: int | str) -> str:
    return AudioCache.key("joe", f"sentence {i}", "ls=1.0")


def test_keys_depend_on_voice_settings_and_text() -> None:
    assert key(1) == key(1) and len(key(1)) == 64
    assert len({AudioCache.key("joe", "x", "ls=1"), AudioCache.key("amy", "x", "ls=1"),
                AudioCache.key("joe", "x", "ls=2"), AudioCache.key("joe", "y", "ls=1")}) == 4


def test_miss_then_hit(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=10_000)
    assert cache.enabled
    assert cache.get(key(0)) is None and (cache.hits, cache.misses) == (0, 1)
    samples = (np.sin(np.arange(700) / 5) * 9000).astype(np.int16)
    cache.put(key(0), samples)
    got = cache.get(key(0))
    assert got is not None and got.samples.dtype == np.int16
    assert np.array_equal(got.samples, samples) and got.alignment is None
    assert (cache.hits, cache.misses) == (1, 1)
    assert AudioCache(tmp_path, max_bytes=10_000).get(key(0)) is not None  # survives restart


ALIGNMENT = (("^", 100), ("m", 250), ("ˈ", 50), ("ɔ", 200), ("ː", 50), ("$", 50))


def test_alignments_round_trip_with_the_audio(tmp_path: Path) -> None:
    samples = (np.sin(np.arange(700) / 5) * 9000).astype(np.int16)
    AudioCache(tmp_path, 10_000).put(key(0), samples, ALIGNMENT)
    got = AudioCache(tmp_path, 10_000).get(key(0))  # another process, after a restart
    assert got is not None and got.alignment == ALIGNMENT
    assert np.array_equal(got.samples, samples)
    assert (tmp_path / f"{key(0)}.pcm").stat().st_size == entry_bytes(Speech(samples, ALIGNMENT))


@pytest.mark.parametrize("content", [
    np.arange(700, dtype=np.int16).tobytes(),  # format 1: bare PCM
    encode_entry(Speech(np.zeros(700, np.int16), ALIGNMENT))[:-2],  # cut: no longer adds up
    encode_entry(Speech(np.zeros(700, np.int16), ALIGNMENT)).replace(b'"alignment"', b'"x" '),
    encode_entry(Speech(np.zeros(700, np.int16)))[:12] + b"\xff" * 20,  # header not JSON
])
def test_an_old_format_or_damaged_entry_is_a_miss_and_removed(tmp_path: Path,
                                                              content: bytes) -> None:
    cache = AudioCache(tmp_path, max_bytes=10_000)
    (tmp_path / f"{key(0)}.pcm").write_bytes(content)
    assert cache.get(key(0)) is None and cache.misses == 1
    assert not (tmp_path / f"{key(0)}.pcm").exists()


def test_the_format_is_part_of_the_key() -> None:
    """Format-1 entries (bare PCM, keyed without a format) are never looked up again."""
    import hashlib

    old = hashlib.sha256(b"joe\0ls=1.0\0sentence 0").hexdigest()
    assert key(0) != old


def test_bounded_with_lru_eviction(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=3000)
    a = np.arange(486, dtype=np.int16)  # 1000 bytes each, with the header
    assert entry_bytes(Speech(a)) == 1000
    for i in range(3):
        cache.put(key(i), a + i)
        os.utime(tmp_path / f"{key(i)}.pcm", (1000 + i, 1000 + i))
    assert cache.size_bytes() == 3000
    got = cache.get(key(0))  # a hit makes entry 0 the most recent
    assert got is not None and np.array_equal(got.samples, a)
    cache.put(key(3), a + 3)
    assert cache.size_bytes() <= 3000
    assert cache.get(key(1)) is None  # the least recently used went
    assert cache.get(key(0)) is not None and cache.get(key(2)) is not None
    assert cache.get(key(3)) is not None


def test_many_puts_never_exceed_the_bound(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=5000)
    for i in range(40):
        cache.put(key(i), np.full(300 + 7 * i, i, dtype=np.int16))
        assert cache.size_bytes() <= 5000
    assert cache.get(key(39)) is not None


def test_an_entry_bigger_than_the_whole_cache_is_not_stored(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=100)
    cache.put(key(0), np.zeros(40, np.int16))  # 80 bytes of audio + the header
    assert cache.get(key(0)) is None and list(tmp_path.iterdir()) == []


def test_zero_size_disables_the_cache(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path / "c", max_bytes=0)
    assert not cache.enabled and not (tmp_path / "c").exists()
    cache.put(key(0), np.zeros(4, np.int16))
    assert cache.get(key(0)) is None


def test_a_truncated_odd_length_entry_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=10_000)
    (tmp_path / f"{key(0)}.pcm").write_bytes(b"abc")
    assert cache.get(key(0)) is None and cache.misses == 1
    assert not (tmp_path / f"{key(0)}.pcm").exists()


def test_leftover_temp_files_are_cleaned_at_start(tmp_path: Path) -> None:
    (tmp_path / "half-written.tmp").write_bytes(b"half")
    (tmp_path / f"{key(0)}.pcm").write_bytes(b"\0\0")
    AudioCache(tmp_path, max_bytes=10_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{key(0)}.pcm"]


def test_an_unwritable_folder_disables_the_cache_without_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = AudioCache(blocker / "cache", max_bytes=10_000)
    assert not cache.enabled
    assert "tts cache disabled" in caplog.text
    cache.put(key(0), np.zeros(10, np.int16))
    assert cache.get(key(0)) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write a read-only folder")
def test_a_read_only_folder_disables_the_cache(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        assert not AudioCache(folder, max_bytes=10_000).enabled
    finally:
        folder.chmod(0o700)


def test_a_fifo_planted_as_an_entry_is_a_miss_and_is_removed(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, 1 << 20)
    key = AudioCache.key("joe", "hello", "")
    os.mkfifo(tmp_path / f"{key}.pcm")  # opening it for reading would block for ever
    assert cache.get(key) is None
    assert not (tmp_path / f"{key}.pcm").exists()
    cache.put(key, np.ones(10, np.int16))
    assert cache.get(key) is not None


def test_entry_size_marks_an_entry_used_without_counting_a_hit(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=10_000)
    cache.put(key(0), np.ones(100, dtype=np.int16))
    os.utime(tmp_path / f"{key(0)}.pcm", (1, 1))
    assert cache.entry_size(key(0)) == entry_bytes(Speech(np.ones(100, dtype=np.int16)))
    assert (tmp_path / f"{key(0)}.pcm").stat().st_mtime > 1  # now recently used
    assert (cache.hits, cache.misses) == (0, 0)  # the preparer's look is not a customer's
    assert cache.entry_size(key(1)) is None
    os.symlink(tmp_path / f"{key(0)}.pcm", tmp_path / f"{key(2)}.pcm")
    assert cache.entry_size(key(2)) is None  # only regular files count, as in get()
    assert AudioCache(tmp_path / "off", max_bytes=0).entry_size(key(0)) is None
