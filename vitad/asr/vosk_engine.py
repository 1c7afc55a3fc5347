"""Vosk (Kaldi) streaming recognizer with partial results and a domain grammar.

``set_vocabulary(sentences)`` gives the shop's domain sentences (vitad/dialogue/domain.py).
They become a Vosk grammar (the phrases + the model's unknown-word token), which only
models with a *dynamic graph* (``graph/HCLr.fst`` + ``graph/Gr.fst``: the small models,
e.g. vosk-model-small-en-us and the Korean test model) can use; a big static-graph model
(``HCLG.fst``) is logged once and decodes openly.

* ``use_grammar = true``: the grammar is the only recognizer (a closed recognizer: anything
  said comes out as domain words or is dropped as unknown).
* otherwise (default) a grammar recognizer runs *alongside* the open one on the same model
  — it is cheap, its graph is tiny — and the stream exposes its text as ``domain_text``;
  vitad/asr/correction.py decides between the two (the same scheme as PocketSphinx).

A grammar word missing from the model's lexicon is dropped by Vosk with only a stderr
warning, so the lexicon is read from ``Gr.fst``'s symbol table (the small models ship no
``words.txt``) and phrases with unknown words are left out — and logged — up front. For
languages written without spaces the phrases are split into lexicon words (longest match).
"""

from __future__ import annotations

import json
import logging
import mmap
import re
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from vitad.errors import AsrFailure

log = logging.getLogger(__name__)

# Files every Vosk model directory has; checked first so a wrong path gives a clear message
# instead of Kaldi's stderr noise.
REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")
# What models call an unknown word (English small: "[unk]"; Korean: "<UNK>").
UNKNOWN_TOKENS = ("[unk]", "<unk>", "<UNK>")
_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
MAX_WORD_CHARS = 8  # longest lexicon word tried when splitting unspaced text


def check_model_dir(path: Path) -> None:
    if not path.is_dir():
        raise AsrFailure("model_missing", f"Vosk model folder not found: {path}")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise AsrFailure(
            "model_unreadable", f"Vosk model at {path} is incomplete (missing {', '.join(missing)})"
        )


def has_dynamic_graph(model_dir: Path) -> bool:
    """Only models with HCLr.fst + Gr.fst accept a grammar (Vosk's 'dynamic graph')."""
    return (model_dir / "graph/HCLr.fst").is_file() and (model_dir / "graph/Gr.fst").is_file()


def lexicon_hits(model_dir: Path, wanted: Iterable[str]) -> set[str]:
    """Which of ``wanted`` are words of the model's lexicon.

    Read from graph/words.txt when the model has one, else from the symbol table that
    OpenFst stores at the start of graph/Gr.fst (magic, name, counts, then (word, id)
    pairs). Only the wanted words are kept: a lexicon has 100k-500k words.
    """
    want = {w.encode("utf-8") for w in wanted}
    words_txt = model_dir / "graph/words.txt"
    if words_txt.is_file():
        with words_txt.open("rb") as f:
            return {line.split()[0].decode() for line in f if line.split()
                    and line.split()[0] in want}
    found: set[bytes] = set()
    with (model_dir / "graph/Gr.fst").open("rb") as f, \
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos = 0

        def skip_string() -> None:
            nonlocal pos
            pos += 4 + struct.unpack_from("<i", data, pos)[0]

        if struct.unpack_from("<i", data, 0)[0] != _FST_MAGIC:
            return set()
        pos = 4
        skip_string()  # fst type
        skip_string()  # arc type
        flags = struct.unpack_from("<i", data, pos + 4)[0]
        pos += 8 + 32  # version, flags; properties, start, states, arcs
        if not flags & 3 or struct.unpack_from("<i", data, pos)[0] != _SYMBOLS_MAGIC:
            return set()
        pos += 4
        skip_string()  # table name
        size = struct.unpack_from("<q", data, pos + 8)[0]
        pos += 16
        unpack = struct.unpack_from
        for _ in range(size):
            n = unpack("<i", data, pos)[0]
            word = data[pos + 4 : pos + 4 + n]
            if word in want:
                found.add(word)
            pos += 12 + n
    return {w.decode("utf-8") for w in found}


def grammar_phrases(model_dir: Path, phrases: list[str]) -> tuple[list[str], str | None, list[str]]:
    """(phrases the model can say, its unknown-word token, words it lacks)."""
    spaceless = any(_SPACELESS.search(p) for p in phrases)
    wanted = {w for p in phrases for w in p.split()} | set(UNKNOWN_TOKENS)
    if spaceless:
        wanted |= {chunk for p in phrases for chunk in _chunks(p.replace(" ", ""))}
    known = lexicon_hits(model_dir, wanted)
    unk = next((t for t in UNKNOWN_TOKENS if t in known), None)
    usable: list[str] = []
    missing: set[str] = set()
    for phrase in phrases:
        words = _split(phrase, known) if spaceless else phrase.split()
        lacking = [w for w in words if w not in known]
        if lacking:
            missing.update(lacking)
        elif words:
            usable.append(" ".join(words))
    return list(dict.fromkeys(usable)), unk, sorted(missing)


def _chunks(text: str) -> Iterable[str]:
    for i in range(len(text)):
        for j in range(i + 1, min(len(text), i + MAX_WORD_CHARS) + 1):
            yield text[i:j]


def _split(phrase: str, known: set[str]) -> list[str]:
    """Longest-match split of unspaced text into lexicon words (a lone char if none)."""
    words: list[str] = []
    for part in phrase.split():
        i = 0
        while i < len(part):
            j = next((j for j in range(min(len(part), i + MAX_WORD_CHARS), i, -1)
                      if part[i:j] in known), i + 1)
            words.append(part[i:j])
            i = j
    return words


def _without_unknown(text: str) -> str:
    return " ".join(w for w in text.split() if w not in UNKNOWN_TOKENS)


class VoskStream:
    def __init__(self, recognizer: Any, domain: Any | None = None) -> None:  # vosk: untyped
        self._rec = recognizer
        self._domain = domain
        self._done: list[str] = []
        self._partial = ""
        self._domain_done: list[str] = []
        self.domain_text: str | None = None  # the grammar recognizer's text, after finish()

    def accept(self, samples: np.ndarray) -> None:
        data = samples.tobytes()
        if self._rec.AcceptWaveform(data):
            # Vosk found a segment boundary inside the utterance: keep that segment's text.
            text = _result(self._rec.Result())
            if text:
                self._done.append(text)
            self._partial = ""
        else:
            self._partial = _without_unknown(
                json.loads(self._rec.PartialResult()).get("partial", ""))
        if self._domain is not None and self._domain.AcceptWaveform(data):
            text = _result(self._domain.Result())
            if text:
                self._domain_done.append(text)

    def partial(self) -> str:
        return " ".join([*self._done, self._partial]).strip()

    def finish(self) -> str:
        text = _result(self._rec.FinalResult())
        if text:
            self._done.append(text)
        if self._domain is not None:
            text = _result(self._domain.FinalResult())
            self.domain_text = " ".join([*self._domain_done, text]).strip()
        return " ".join(self._done).strip()


def _result(raw: str) -> str:
    # Unknown-word tokens are not words the customer said: the rest of the text stays.
    return _without_unknown(json.loads(raw).get("text", ""))


class VoskRecognizer:
    name = "vosk"

    def __init__(self, model_dir: Path, use_grammar: bool = False,
                 domain_pass: bool = True) -> None:
        check_model_dir(model_dir)
        import vosk

        vosk.SetLogLevel(-1)
        try:
            self._model = vosk.Model(str(model_dir))
        except Exception as exc:
            raise AsrFailure("model_unreadable", f"Vosk cannot load {model_dir}: {exc}") from None
        self._vosk = vosk
        self.model_dir = model_dir
        self._use_grammar = use_grammar
        self.domain_pass = domain_pass
        self._grammar: str | None = None
        self.grammar_supported = has_dynamic_graph(model_dir)
        self._warned_static = False
        self._open: Any = self._vosk.KaldiRecognizer(self._model, 16000)
        self._restricted: Any = None

    def set_vocabulary(self, phrases: list[str]) -> None:
        """The domain grammar from these sentences (see the module doc)."""
        self._grammar = None
        self._restricted = None
        if not (self._use_grammar or self.domain_pass) or not phrases:
            return
        if not self.grammar_supported:
            if not self._warned_static:
                log.info("asr: the Vosk model at %s has a static graph (no grammar); "
                         "decoding openly, corrected to the domain", self.model_dir)
                self._warned_static = True
            return
        usable, unk, missing = grammar_phrases(self.model_dir, phrases)
        if missing:
            log.info("asr: the Vosk model lacks %d domain words (%s); %d of %d phrases kept",
                     len(missing), ", ".join(missing[:8]), len(usable), len(phrases))
        if not usable:
            log.warning("asr: no domain phrase is in the Vosk model's lexicon (wrong language?)"
                        "; decoding without a grammar")
            return
        self._grammar = json.dumps([*usable, *([unk] if unk else [])], ensure_ascii=False)
        self._restricted = self._vosk.KaldiRecognizer(self._model, 16000, self._grammar)

    def start(self) -> VoskStream:
        # Recognizers are built once and reset per utterance (one utterance at a time, like
        # the listener): compiling the grammar takes ~0.3 s, too long to do at each wake.
        if self._grammar is not None and self._restricted is None:
            self._restricted = self._vosk.KaldiRecognizer(self._model, 16000, self._grammar)
        for rec in (self._open, self._restricted):
            if rec is not None:
                rec.Reset()
        if self._grammar is None:
            return VoskStream(self._open)
        if self._use_grammar:
            return VoskStream(self._restricted)
        return VoskStream(self._open, self._restricted)
