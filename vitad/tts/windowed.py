"""A Piper (VITS) voice graph cut into stages, so a chunk's audio can be decoded in windows.

Piper runs the whole voice as one ONNX graph. Measured on this box for a 2.6 s chunk: the
text encoder + duration predictor take ~35-85 ms, the flow ~70 ms and the HiFi-GAN decoder
~330-400 ms, all before the first sample. Everything after the text side is convolutional
over the latent frames (``hop_length`` samples each): a window of frames run with enough
extra frames on each side gives the same samples as the one-shot run. So the graph is cut in
memory into a **front** (phoneme ids -> the flow's input, incl. the random noise, and the
phoneme durations), and **windowed stages**: the flow and the decoder. The first window is
small, so the first audio of a chunk costs the front plus a short window instead of the whole
chunk; a test checks the stitched windows against the one-shot run on the real voice, and
:class:`~vitad.tts.piper_engine.PiperTts` checks every voice at load (:func:`stitch_error`).

The cut is made with ``onnx.utils.Extractor`` (the onnx package is already there for the
alignment patch). A graph without the expected nodes, or whose stages need more than the
stage before gives, raises :class:`SplitUnavailable` and the caller keeps the one-shot run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Cut:
    """Where a windowed stage begins (its first node's name starts with ``prefix``) and how
    many frames of context each side of a window it needs."""

    prefix: str
    context: int


# VITS as Piper exports it: the flow's and the decoder's nodes are named after the modules.
# Contexts, measured on joe-medium (max difference of the stitched audio, full scale 1.0):
# the flow reaches ±32 frames on paper (4 couplings x 4 layers x ±2), the decoder ±~11
# (conv_pre ±3, then the dilated resblocks after each upsampling); 24 and 12 frames match to
# ~1e-6 (-120 dB, float rounding), 16 and 8 differ by 1.5e-3, 36 and 16 cost more for nothing.
CUTS = (Cut("/flow/", 24), Cut("/dec/", 12))
FIRST_FRAMES = 8  # the first window: 8 frames = 0.09 s at 22.05 kHz, hop 256
# Later windows double up to this (see windows()): the decoder alone runs at ~0.1 x real
# time here plus the contexts; a larger window spends less on its contexts.
MAX_FRAMES = 128


class SplitUnavailable(Exception):
    """The voice graph cannot be cut at the expected nodes (another architecture/export)."""


@dataclass(frozen=True)
class Stage:
    """One part of the graph, serialized for onnxruntime."""

    model: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    context: int  # frames each side a window needs (0: the front, run once per sentence)


def split_graph(model: Any, cuts: Sequence[Cut] = CUTS) -> list[Stage]:
    """Cut ``model`` (an ``onnx.ModelProto``; onnx is untyped) into the front and one stage
    per cut. The last stage gives the graph's first output (the audio); the front also gives
    the graph's other outputs (the phoneme durations). Raises :class:`SplitUnavailable`."""
    from onnx.utils import Extractor

    graph = model.graph
    nodes = list(graph.node)
    starts = []
    for cut in cuts:
        at = next((i for i, n in enumerate(nodes) if n.name.startswith(cut.prefix)), None)
        if at is None:
            raise SplitUnavailable(f"no {cut.prefix} nodes in the voice graph")
        starts.append(at)
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        raise SplitUnavailable("the voice graph's stages are not in the expected order")
    outputs = [o.name for o in graph.output]
    if not outputs:
        raise SplitUnavailable("the voice graph has no outputs")
    audio, extra = outputs[0], tuple(outputs[1:])
    # What crosses each cut: tensors used at or after it that were made before it.
    made: set[str] = {i.name for i in graph.input}
    crossing = []
    for i, at in enumerate(starts):
        made.update(t for n in nodes[starts[i - 1] if i else 0 : at] for t in n.output)
        crossing.append(tuple(sorted({t for n in nodes[at:] for t in n.input if t in made})))
    made_late = {t for n in nodes[starts[0]:] for t in n.output}
    if any(e in made_late for e in extra):
        raise SplitUnavailable("an extra output of the voice graph comes after the cut")
    bounds = [tuple(i.name for i in graph.input), *crossing]
    ends = [*crossing, (audio,)]
    try:
        extractor = Extractor(model)
        parts = []
        for k, (ins, outs) in enumerate(zip(bounds, ends, strict=True)):
            outs = (*outs, *extra) if k == 0 else outs
            part = extractor.extract_model(list(ins), list(outs))
            if {i.name for i in part.graph.input} != set(ins):
                raise SplitUnavailable(f"stage {k} needs more than {list(ins)}")
            context = cuts[k - 1].context if k else 0
            parts.append(Stage(part.SerializeToString(), ins, outs, context))
    except SplitUnavailable:
        raise
    except Exception as exc:  # onnx's own errors for a graph it cannot cut there
        raise SplitUnavailable(f"cannot cut the voice graph: {exc}") from None
    return parts


def windows(frames: int, first: int = FIRST_FRAMES,
            largest: int = MAX_FRAMES) -> list[tuple[int, int]]:
    """[start, end) frame ranges covering ``frames``: ``first`` frames twice, then each
    window twice the one before, up to ``largest``. Each window is decoded while the one
    before plays, so the second is as small as the first (its decode, with the contexts,
    takes about half the first window's playing time here). A last window under half the
    one before is merged into it, unless that is the first (a tiny piece is a tiny buffer
    for the next chunk's synthesis to hide behind)."""
    if frames <= 0:
        return []
    bounds, size = [0], first
    while bounds[-1] < frames:
        bounds.append(min(bounds[-1] + size, frames))
        if len(bounds) > 2:
            size = min(size * 2, largest)
    if len(bounds) > 3 and bounds[-1] - bounds[-2] < (bounds[-2] - bounds[-3]) // 2:
        del bounds[-2]
    return list(pairwise(bounds))


@dataclass(frozen=True)
class Latent:
    """The front's result for one sentence: what the windowed stages need (per-frame tensors
    are sliced per window, the others passed whole), and the graph's other outputs."""

    feed: dict[str, np.ndarray]
    extras: list[np.ndarray]
    frames: int


def _per_frame(tensor: np.ndarray, frames: int) -> bool:
    """A tensor over the latent frames: (batch, channels, time) with ``frames`` steps."""
    return tensor.ndim == 3 and tensor.shape[-1] == frames


class SplitSession:
    """onnxruntime sessions over the stages of one voice graph.

    :meth:`run` and :meth:`get_outputs` behave like the one-shot ``InferenceSession`` Piper
    was given (the audio, then the extra outputs), so ``PiperVoice`` runs on it unchanged;
    :meth:`latent` and :meth:`decode` are the windowed route.
    """

    def __init__(self, stages: Sequence[Stage], options: Any, hop: int) -> None:
        import onnxruntime

        self.sessions = []
        for stage in stages:
            session = onnxruntime.InferenceSession(stage.model, sess_options=options,
                                                   providers=["CPUExecutionProvider"])
            # Kept by onnxruntime only to fall back to another execution provider; the CPU
            # provider has none (as in piper_engine._load_voice).
            session._model_bytes = None
            self.sessions.append(session)
        self.stages = [Stage(b"", s.inputs, s.outputs, s.context) for s in stages]
        self.hop = hop

    def get_outputs(self) -> list[Any]:
        extras = self.sessions[0].get_outputs()[len(self.stages[1].inputs):]
        return [*self.sessions[-1].get_outputs(), *extras]

    def _extra_names(self) -> tuple[str, ...]:
        return self.stages[0].outputs[len(self.stages[1].inputs):]

    def latent(self, feed: dict[str, np.ndarray]) -> Latent:
        """Run the front on Piper's feed (phoneme ids, lengths, scales, speaker)."""
        names = self.stages[0].outputs
        result = dict(zip(names, self.sessions[0].run(None, feed), strict=True))
        extras = [result.pop(n) for n in self._extra_names()]
        frames = max(t.shape[-1] for t in result.values() if t.ndim == 3)
        return Latent(result, extras, int(frames))

    def decode(self, latent: Latent, start: int, end: int) -> np.ndarray:
        """Float audio of frames [start, end): each stage runs over the frames the stages
        after it need (the window plus their contexts; fewer at the sentence's ends, where
        the one-shot run pads the same way), and the last one's audio is cut to the window."""
        spans: list[tuple[int, int]] = []  # the frames each windowed stage runs over
        lo, hi = start, end
        for stage in reversed(self.stages[1:]):
            lo, hi = max(0, lo - stage.context), min(latent.frames, hi + stage.context)
            spans.insert(0, (lo, hi))
        # name -> (tensor, the frame its time axis starts at; None: not per frame)
        tensors: dict[str, tuple[np.ndarray, int | None]] = {
            n: (t, 0 if _per_frame(t, latent.frames) else None)
            for n, t in latent.feed.items()}
        for stage, session, (lo, hi) in zip(self.stages[1:], self.sessions[1:], spans,
                                            strict=True):
            feed = {}
            for name in stage.inputs:
                tensor, first = tensors[name]
                feed[name] = tensor if first is None else np.ascontiguousarray(
                    tensor[..., lo - first : hi - first])
            for name, out in zip(stage.outputs, session.run(None, feed), strict=True):
                tensors[name] = (out, lo if _per_frame(out, hi - lo) else None)
        audio = np.asarray(tensors[self.stages[-1].outputs[0]][0]).reshape(-1)
        lo = spans[-1][0]
        return audio[(start - lo) * self.hop : (end - lo) * self.hop]

    def decode_windows(self, latent: Latent, first: int = FIRST_FRAMES,
                       largest: int = MAX_FRAMES) -> Iterator[np.ndarray]:
        """The latent's audio window by window (each decoded when asked for)."""
        for start, end in windows(latent.frames, first, largest):
            yield self.decode(latent, start, end)

    def run(self, output_names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The one-shot run, as the whole graph gives it: [audio (1, 1, n), *extras]."""
        latent = self.latent(feed)
        audio = self.decode(latent, 0, latent.frames)
        return [audio.reshape(1, 1, -1), *latent.extras]


class FrontOnly:
    """A stand-in session for ``PiperVoice.synthesize`` that runs only the front.

    Piper's own code then does what it does for every sentence (phonemes, ids, scales,
    speaker, the phoneme alignments from the durations) and this keeps each sentence's
    :class:`Latent` in :attr:`latents` for the windowed decode. The audio it hands Piper is
    silence of the right length (Piper only normalizes it; the real audio comes later).
    """

    def __init__(self, split: SplitSession) -> None:
        self.split = split
        self.latents: list[Latent] = []

    def get_outputs(self) -> list[Any]:
        return self.split.get_outputs()

    def run(self, output_names: Any, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        latent = self.split.latent(feed)
        self.latents.append(latent)
        silence = np.zeros((1, 1, latent.frames * self.split.hop), dtype=np.float32)
        return [silence, *latent.extras]


# How far stitched windows may be from the one-shot decode (float audio, full scale 1.0) for
# a voice to be played in windows: the joe voice's windows are within ~1e-6; a voice with a
# wider receptive field than CUTS allow for would be off by ~1e-3 or more.
STITCH_TOLERANCE = 1e-4


def stitch_check(split: SplitSession, latent: Latent) -> tuple[float, np.ndarray]:
    """The largest difference between ``latent``'s windows stitched and its one-shot decode
    (inf if their lengths differ), and that one-shot decode (its raw audio)."""
    whole = split.decode(latent, 0, latent.frames)
    stitched = np.concatenate([whole[:0], *split.decode_windows(latent)])
    if len(stitched) != len(whole):
        return float("inf"), whole
    return float(np.abs(stitched - whole).max(initial=0.0)), whole


def stitch_error(split: SplitSession, latent: Latent) -> float:
    """The first half of :func:`stitch_check`."""
    return stitch_check(split, latent)[0]
