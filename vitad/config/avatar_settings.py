"""[avatar] config section. Owned by the avatar; composed into vitad.config.schema.

Every field has a default so an empty ``[avatar]`` table validates. Colours are ``#rrggbb``
strings so the TOML stays readable; sizes that must scale with the screen are fractions of
the screen height rather than pixels, so one config works at 800x480 and at 1920x1080.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
ClockTime = Annotated[str, Field(pattern=r"^(([01]\d|2[0-3]):[0-5]\d)?$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class AvatarTheme(BaseModel):
    """Colours of the background, captions and cues. The character's own colours (body,
    eyes, cheeks, mouth, tongue, highlight) are baked into its pack's PNGs: here they only
    tint the glow and thinking dots, and feed ``assets/avatar/make_bubble_pack.py``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    background_top: Colour = "#14324f"
    background_bottom: Colour = "#0a1a2c"
    body: Colour = "#7fd3f5"
    body_shade: Colour = "#4fa6d8"
    highlight: Colour = "#ffffff"
    eyes: Colour = "#16233a"
    cheeks: Colour = "#ff9db4"
    mouth: Colour = "#3a1020"
    tongue: Colour = "#ff6f8e"
    accent: Colour = "#ffd166"
    """Listening ring, thinking dots, card titles."""
    caption_text: Colour = "#ffffff"
    caption_user: Colour = "#bfe6ff"
    caption_panel: Colour = "#04101c"
    warning: Colour = "#ffb347"


class AvatarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool = True
    fps: Annotated[int, Field(ge=1, le=60)] = 30
    idle_fps: Annotated[int, Field(ge=1, le=60)] = 15
    """Frame rate while nobody is talking to us (idle, degraded, night; never above ``fps``).
    Resting, only breathing, blinks and cards move; the main thread's idle CPU fell from ~1.9
    to ~1.5 % of a core here (dummy display, 60 s runs), more on a Pi at 1080p. A wake word
    draws its first frame at once, and the turn runs at ``fps``."""
    size: Annotated[str, Field(pattern=r"^\d{3,5}x\d{3,5}$")] = "1280x720"
    """Window size on a desktop; KMSDRM fullscreen uses the screen's own mode."""
    fullscreen: StrictBool = True
    """KMSDRM uses the screen's native mode; false = ``size`` instead. Desktops are windowed."""
    driver: Literal["auto", "kmsdrm", "x11", "wayland", "windows", "cocoa"] = "auto"
    """``auto`` tries KMSDRM (Pi OS Lite, no X) then the desktop. SDL_VIDEODRIVER wins."""

    theme: AvatarTheme = AvatarTheme()
    art: Literal["bubble"] = "bubble"
    """Kept so older configs stay valid; the character now comes from ``pack``."""
    pack: Path | None = None
    """Avatar pack folder (pack.toml + PNGs; README "Avatar"); relative to the config file.
    None = the bundled "bubble" pack. A bad pack is logged (one line per problem) and the
    bundled pack - on reload, the running one - is drawn instead."""
    logo: Path | None = None
    """Shop logo (PNG) shown on the attract screen; checked like the pack."""
    accent_colour: Colour | None = None
    """Shop colour for the attract screen's card titles and panel edge; None = theme accent."""
    scale: Annotated[float, Field(gt=0.2, le=2.0)] = 1.0
    """Character size relative to the default (which fits the stage area)."""
    position: tuple[Fraction, Fraction] = (0.5, 0.36)
    """Character centre as fractions of the screen (x, y)."""

    caption_font: Path | None = None
    """TTF/OTF/TTC for captions; None = the font bundled with pygame."""
    cjk_font: Path | None = None
    """Font used when a caption contains CJK; None = look for Noto CJK / WenQuanYi."""
    caption_size: Annotated[float, Field(ge=0.02, le=0.15)] = 0.058
    """Caption font height as a fraction of the screen height (0.058 = 63 px at 1080p)."""
    caption_hold_s: Annotated[float, Field(ge=0, le=120)] = 8.0
    """How long captions stay after a turn ends."""
    reply_caption_delay_s: Annotated[float, Field(ge=0, le=10)] = 1.5
    """Show the Reply text if no sentence has started playing this long after it."""

    attract_idle_s: Annotated[float, Field(ge=5, le=3600)] = 45.0
    attract_card_s: Annotated[float, Field(ge=2, le=120)] = 9.0
    orbit_px: Annotated[float, Field(ge=0, le=0.05)] = 0.008
    """Burn-in protection: radius of the slow pixel orbit as a fraction of the height."""
    orbit_period_s: Annotated[float, Field(ge=30, le=86400)] = 900.0

    night_start: ClockTime = "22:00"
    night_end: ClockTime = "06:00"
    """Night for the screen (local time, HH:MM). Both "" = never night. Deprecated with
    night_brightness: ``[schedule] quiet`` ranges with ``dim`` replace them (and win once any
    range sets ``dim``; vitad/audio/schedule.py). Setting them logs one line."""
    night_brightness: Annotated[float, Field(ge=0.05, le=1.0)] = 0.35

    error_hold_s: Annotated[float, Field(ge=0, le=60)] = 4.0
    stale_turn_s: Annotated[float, Field(ge=5, le=600)] = 30.0
    """Back to idle if a turn gets no event for this long (a lost TurnEnd)."""

    @model_validator(mode="after")
    def _night_pair(self) -> AvatarSettings:
        if bool(self.night_start) != bool(self.night_end):
            raise ValueError("night_start and night_end must both be set or both be empty")
        return self

    @property
    def window_size(self) -> tuple[int, int]:
        w, h = self.size.split("x")
        return int(w), int(h)
