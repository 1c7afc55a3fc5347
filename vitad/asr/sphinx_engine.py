"""PocketSphinx with the English model its wheel ships: the offline fallback recognizer.

Domain pass. ``set_vocabulary(sentences)`` builds a small trigram language model from the
shop's domain sentences (pocketsphinx's own ``ArpaBoLM`` builder, so no extra dependency).
The general English LM stays the one whose text the stream returns (live partials, and the
*open path*: a customer may ask anything). A second, small decoder with only the domain's
words and LM hears the same audio alongside, and the stream exposes its text as
``domain_text`` after ``finish()``. The decoder cannot mix the two LMs (the Python
API has no LM set/interpolation), and a domain-only LM would force every question into the
domain, so the choice between the two texts is left to the corrector
(vitad/asr/correction.py), which keeps the domain text only when it is a domain sentence and
agrees with what the open pass heard. bench/domain_asr.py measures each variant.
"""

from __future__ import annotations

import logging
import tempfile
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# Sentences shorter than this are too few for an LM; the domain pass is skipped.
MIN_DOMAIN_SENTENCES = 2
# The domain decoder's search. Its LM is tiny, so PocketSphinx's second (flat-lexicon) pass
# is not worth its cost: bench/domain_asr.py --set all, both decoders' real-time factor and
# questions right: default 0.65 (a busier box) / 79 of 179; fwdflat off 0.48 / 80; fwdflat
# and bestpath off 0.45 / 78 (the restricted text alone: 100, 99, 93).
DOMAIN_DECODER_OPTIONS: dict[str, object] = {"fwdflat": False}
# The open decoder's flat-lexicon second pass re-searches the whole utterance in end_utt():
# after the endpoint, while the customer waits (median 0.15 s, p90 0.6 s on this box's
# corpus questions; 0.013 / 0.13 s without it). bench/accuracy.py dev split, re-scored with one
# dialogue: 27 right / 5 wrong with it, 27 / 4 without; WER 96 % both; ASR time after the
# endpoint 0.35 -> 0.08 s median (a loaded box).
OPEN_DECODER_OPTIONS: dict[str, object] = {"fwdflat": False}


class SphinxStream:
    def __init__(self, decoder: Any, domain: Any | None = None) -> None:
        self._decoders = [decoder] if domain is None else [decoder, domain]
        for d in self._decoders:
            d.start_utt()
        self._decoder = decoder
        self._finished = False
        self._text = ""
        self.domain_text: str | None = None  # the domain LM's reading, after finish()

    def accept(self, samples: np.ndarray) -> None:
        data = samples.tobytes()
        for d in self._decoders:
            d.process_raw(data, False, False)

    def partial(self) -> str:
        if self._finished:
            return self._text
        return _text(self._decoder)

    def domain_partial(self) -> str:
        """The domain decoder's text so far ('' without one): see vitad/asr/base.py."""
        if len(self._decoders) < 2:
            return ""
        return (self.domain_text or "") if self._finished else _text(self._decoders[1])

    def finish(self) -> str:
        if not self._finished:
            for d in self._decoders:
                d.end_utt()
            self._finished = True
            self._text = _text(self._decoder)
            if len(self._decoders) > 1:
                self.domain_text = _text(self._decoders[1])
        return self._text


def _text(decoder: Any) -> str:
    hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None else ""


class SphinxRecognizer:
    """One decoder, one utterance at a time (the listener is single-threaded).

    ``domain_pass``: also decode with the domain LM (see the module doc) once
    ``set_vocabulary`` has given the sentences.
    """

    name = "pocketsphinx"

    def __init__(self, domain_pass: bool = True) -> None:
        from pocketsphinx import Config, Decoder

        config = Config(samprate=16000, loglevel="FATAL", **OPEN_DECODER_OPTIONS)
        self._decoder = Decoder(config)
        self.domain_pass = domain_pass
        self._domain: Any | None = None  # pocketsphinx.Decoder (untyped)
        self.domain_words_missing: list[str] = []

    def set_vocabulary(self, phrases: list[str]) -> None:
        """Build the domain decoder from these sentences (words the dictionary lacks are
        dropped from them and listed in ``domain_words_missing``)."""
        if not self.domain_pass:
            self._domain = None
            return
        sentences, lexicon, missing = self._in_dictionary(phrases)
        self.domain_words_missing = missing
        if missing:
            log.info("asr: pocketsphinx dictionary lacks %d domain words (%s)", len(missing),
                     ", ".join(missing[:8]))
        self._domain = (self._domain_decoder(sentences, lexicon)
                        if len(sentences) >= MIN_DOMAIN_SENTENCES else None)

    def _in_dictionary(self, phrases: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
        sentences: list[str] = []
        lexicon: dict[str, str] = {}
        missing: set[str] = set()
        for phrase in phrases:
            known = []
            for word in phrase.lower().split():
                phones = lexicon.get(word) or self._decoder.lookup_word(word)
                if phones:
                    lexicon[word] = phones
                    known.append(word)
                else:
                    missing.add(word)
            if known:
                sentences.append(" ".join(known))
        return list(dict.fromkeys(sentences)), lexicon, sorted(missing)

    def _domain_decoder(self, sentences: list[str], lexicon: dict[str, str]) -> object:
        """A second decoder over the same acoustic model, with only the domain's words and
        LM. (Adding the LM as a search of the main decoder takes ~6 s here, because the
        search is built over the whole 130k-word dictionary; this takes ~0.06 s.)"""
        from pocketsphinx import Config, Decoder
        from pocketsphinx.lm import ArpaBoLM

        builder = ArpaBoLM(text="\n".join(sentences), add_start=True)
        builder.compute()
        arpa = StringIO()
        builder.write(arpa)
        # The decoder reads its LM and dictionary from files; they are gone once it is built.
        with tempfile.TemporaryDirectory(prefix="vitad-lm-") as folder:
            lm, dic = Path(folder) / "domain.arpa", Path(folder) / "domain.dict"
            lm.write_text(arpa.getvalue(), encoding="utf-8")
            dic.write_text("".join(f"{w} {p}\n" for w, p in sorted(lexicon.items())),
                           encoding="utf-8")
            return Decoder(Config(samprate=16000, loglevel="FATAL", lm=str(lm), dict=str(dic),
                                  **DOMAIN_DECODER_OPTIONS))

    def start(self) -> SphinxStream:
        return SphinxStream(self._decoder, self._domain)
