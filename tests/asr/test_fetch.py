"""`vitad fetch-models` against a real HTTP server on 127.0.0.1 serving a built archive."""

from __future__ import annotations

import hashlib
import http.server
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from vitad.asr.fetch import FetchError, ModelSpec, fetch_model


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
