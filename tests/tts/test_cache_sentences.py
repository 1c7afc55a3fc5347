"""Sentence chunking and the bounded, atomic on-disk cache (no model needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vitad.tts.cache import AudioCache
from vitad.tts.sentences import split_sentences


def test_sentences_and_long_clauses() -> None:
    assert split_sentences("We close at 11. It costs 7.50 dollars! Ok?") == [
        "We close at 11.", "It costs 7.50 dollars!", "Ok?"]
    long = ("Our prices: the small washer is 4 dollars for about 30 minutes, the big washer is "
            "7 dollars 50 for about 40 minutes and the dryer is 1 dollar 50.")
    parts = split_sentences(long)
    assert len(parts) == 2 and parts[0].endswith("30 minutes,")
    assert " ".join(parts) == long
    assert split_sentences("营业时间是早上六点。谢谢！") == ["营业时间是早上六点。", "谢谢！"]
    assert split_sentences("...  !") == []


def test_hit_miss_and_lru_bound(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, max_bytes=3000)
    a = np.arange(500, dtype=np.int16)  # 1000 bytes each
    keys = [AudioCache.key("joe", f"sentence {i}", "ls=1") for i in range(4)]
    assert cache.get(keys[0]) is None and cache.misses == 1
    for i, key in enumerate(keys[:3]):
        cache.put(key, a + i)
        os.utime(tmp_path / f"{key}.pcm", (1000 + i, 1000 + i))
    assert np.array_equal(cache.get(keys[0]), a)  # a hit refreshes entry 0
    cache.put(keys[3], a + 3)
    assert cache.size_bytes() <= 3000
    assert cache.get(keys[1]) is None  # the least recently used went
    assert cache.get(keys[0]) is not None and cache.get(keys[3]) is not None
    assert AudioCache.key("joe", "x", "ls=1") != AudioCache.key("amy", "x", "ls=1")


def test_damaged_entries_temp_files_and_unwritable_dir(tmp_path: Path) -> None:
    (tmp_path / "leftover.tmp").write_bytes(b"half")
    cache = AudioCache(tmp_path, max_bytes=10_000)
    assert not (tmp_path / "leftover.tmp").exists()  # interrupted writes cleaned at start
    key = AudioCache.key("joe", "odd", "")
    (tmp_path / f"{key}.pcm").write_bytes(b"abc")  # odd length: truncated
    assert cache.get(key) is None and not (tmp_path / f"{key}.pcm").exists()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    disabled = AudioCache(blocker / "cache", max_bytes=10_000)
    assert not disabled.enabled
    disabled.put(key, np.zeros(10, np.int16))  # no exception, nothing stored
    assert disabled.get(key) is None
