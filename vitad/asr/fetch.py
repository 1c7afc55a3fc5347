"""`vitad fetch-models`: download the official Vosk English model, verify it, unpack it.

The archive is checked against a pinned size and sha256 before anything is unpacked; the
model appears in the target folder only when complete (unpack to a temp folder, then rename),
so an interrupted download never leaves a half model that the daemon would try to load.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    url: str
    sha256: str
    size: int | None


VOSK_EN = ModelSpec(
    name="vosk-model-small-en-us-0.15",
    url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
    sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
    size=41_205_931,
)

DEFAULT_MODELS_DIR = Path("/usr/share/vitad/models")


class FetchError(Exception):
    pass


def _download(url: str, dest: Path, timeout: float) -> str:
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, dest.open("wb") as out:
            while block := response.read(1 << 16):
                digest.update(block)
                out.write(block)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"download failed: {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"download failed: {url}: {reason}") from None
    return digest.hexdigest()


def _safe_extract(archive: zipfile.ZipFile, target: Path) -> None:
    root = target.resolve()
    for member in archive.infolist():
        dest = (target / member.filename).resolve()
        if not dest.is_relative_to(root):
            raise FetchError(f"archive entry escapes the target folder: {member.filename}")
    archive.extractall(target)


def fetch_model(spec: ModelSpec, models_dir: Path, force: bool = False,
                timeout: float = 60.0) -> Path:
    """Install ``spec`` under ``models_dir``; returns the model folder."""
    final = models_dir / spec.name
    if final.is_dir() and not force:
        return final
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=models_dir))
    except OSError as exc:
        raise FetchError(f"cannot write to {models_dir}: {exc.strerror}") from None
    try:
        archive_path = work / "model.zip"
        sha = _download(spec.url, archive_path, timeout)
        size = archive_path.stat().st_size
        if spec.size is not None and size != spec.size:
            raise FetchError(f"{spec.url}: got {size} bytes, expected {spec.size}")
        if sha != spec.sha256:
            raise FetchError(f"{spec.url}: sha256 {sha} does not match the pinned {spec.sha256}")
        unpacked = work / "unpacked"
        try:
            with zipfile.ZipFile(archive_path) as archive:
                _safe_extract(archive, unpacked)
        except zipfile.BadZipFile:
            raise FetchError(f"{spec.url}: not a zip archive") from None
        source = unpacked / spec.name
        if not source.is_dir():
            entries = [p for p in unpacked.iterdir() if p.is_dir()]
            if len(entries) != 1:
                raise FetchError(f"{spec.url}: expected one model folder in the archive")
            source = entries[0]
        if final.exists():
            shutil.rmtree(final)
        source.rename(final)
        return final
    finally:
        shutil.rmtree(work, ignore_errors=True)
