"""`vitad fetch-models` against a real HTTP server on 127.0.0.1 serving a built archive
(Vosk) or loose files (Whisper)."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitad.asr.fetch import (
    WHISPER_TINY_EN,
    FetchError,
    FileSetSpec,
    ModelFile,
    ModelSpec,
    fetch_files,
    fetch_model,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def build_archive(path: Path, name: str = "vosk-model-test") -> str:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}/am/final.mdl", b"acoustic model bytes")
        zf.writestr(f"{name}/conf/model.conf", "--sample-frequency=16000\n")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_downloads_verifies_and_unpacks(server, tmp_path: Path) -> None:
    url, root = server
    sha = build_archive(root / "model.zip")
    size = (root / "model.zip").stat().st_size
    spec = ModelSpec("vosk-model-test", f"{url}/model.zip", sha, size)
    path = fetch_model(spec, tmp_path / "models")
    assert (path / "am" / "final.mdl").read_bytes() == b"acoustic model bytes"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["vosk-model-test"]


def test_wrong_sha256_installs_nothing(server, tmp_path: Path) -> None:
    url, root = server
    build_archive(root / "model.zip")
    spec = ModelSpec("vosk-model-test", f"{url}/model.zip", "0" * 64, None)
    with pytest.raises(FetchError, match="does not match the pinned"):
        fetch_model(spec, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_wrong_size_and_missing_file_are_clear(server, tmp_path: Path) -> None:
    url, root = server
    sha = build_archive(root / "model.zip")
    with pytest.raises(FetchError, match=r"got [0-9]+ bytes, expected 123"):
        fetch_model(ModelSpec("m", f"{url}/model.zip", sha, 123), tmp_path / "m1")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_model(ModelSpec("m", f"{url}/missing.zip", sha, None), tmp_path / "m2")


def test_not_a_zip_and_path_traversal_are_refused(server, tmp_path: Path) -> None:
    url, root = server
    (root / "junk.zip").write_bytes(b"this is not a zip")
    sha = hashlib.sha256(b"this is not a zip").hexdigest()
    with pytest.raises(FetchError, match="not a zip"):
        fetch_model(ModelSpec("m", f"{url}/junk.zip", sha, None), tmp_path / "m1")
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    sha = hashlib.sha256((root / "evil.zip").read_bytes()).hexdigest()
    with pytest.raises(FetchError, match="escapes"):
        fetch_model(ModelSpec("m", f"{url}/evil.zip", sha, None), tmp_path / "m2" / "models")
    assert not (tmp_path / "escaped.txt").exists()


def test_cli_reports_a_checksum_failure_in_one_line(server, tmp_path: Path) -> None:
    url, root = server
    build_archive(root / "model.zip")
    proc = subprocess.run(
        [sys.executable, "-m", "vitad", "fetch-models", "--dest", str(tmp_path / "models"),
         "--url", f"{url}/model.zip", "--sha256", "ab" * 32],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert "sha256" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_installs_from_a_local_server(server, tmp_path: Path) -> None:
    url, root = server
    sha = build_archive(root / "model.zip")
    proc = subprocess.run(
        [sys.executable, "-m", "vitad", "fetch-models", "--dest", str(tmp_path / "models"),
         "--url", f"{url}/model.zip", "--sha256", sha, "--name", "vosk-model-test"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "models" / "vosk-model-test" / "conf" / "model.conf").is_file()


# -- the Whisper file set (loose files, each pinned) ----------------------------------------


def serve_files(root: Path, files: dict[str, bytes]) -> tuple[ModelFile, ...]:
    for name, data in files.items():
        (root / name).write_bytes(data)
    return tuple(ModelFile(n, hashlib.sha256(d).hexdigest(), len(d)) for n, d in files.items())


def test_whisper_files_are_fetched_verified_and_installed(server, tmp_path: Path) -> None:
    url, root = server
    files = serve_files(root, {"model.bin": b"weights" * 1000, "config.json": b"{}"})
    path = fetch_files(FileSetSpec("faster-whisper-test", url, files), tmp_path / "models")
    assert path == tmp_path / "models" / "faster-whisper-test"
    assert (path / "model.bin").read_bytes() == b"weights" * 1000
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["faster-whisper-test"]


def test_one_whisper_file_with_a_wrong_sha256_installs_nothing(server, tmp_path: Path) -> None:
    url, root = server
    good, bad = serve_files(root, {"model.bin": b"weights", "config.json": b"{}"})
    tampered = ModelFile(bad.name, "0" * 64, bad.size)
    with pytest.raises(FetchError, match=r"config\.json: sha256 .* does not match the pinned"):
        fetch_files(FileSetSpec("w", url, (good, tampered)), tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []
    with pytest.raises(FetchError, match=r"got 7 bytes, expected 8"):
        fetch_files(FileSetSpec("w", url, (ModelFile("model.bin", good.sha256, 8),)),
                    tmp_path / "models")
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_files(FileSetSpec("w", url, (ModelFile("vocabulary.txt", "0" * 64, 1),)),
                    tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_whisper_pins_match_the_packaged_model_and_it_loads(server, tmp_path: Path) -> None:
    """The pinned spec, served from the packaged copy: it verifies, installs and loads."""
    from vitad.asr.whisper_engine import WhisperRecognizer, packaged_model_dir

    url, root = server
    for item in WHISPER_TINY_EN.files:
        (root / item.name).symlink_to(packaged_model_dir() / item.name)
    assert WHISPER_TINY_EN.base_url.startswith("https://huggingface.co/Systran/")
    spec = dataclasses.replace(WHISPER_TINY_EN, base_url=url)
    path = fetch_files(spec, tmp_path / "models")
    assert path.name == "faster-whisper-tiny.en"
    assert WhisperRecognizer(path, threads=1).start().finish() == ""


def test_cli_whisper_refuses_archive_options(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vitad", "fetch-models", "whisper", "--dest", str(tmp_path),
         "--url", "http://127.0.0.1:9/x.zip", "--sha256", "ab" * 32],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "Vosk archives" in proc.stderr and "Traceback" not in proc.stderr
