"""Real sound devices through PortAudio/ALSA, using ALSA null/file PCMs (no sound card).

Run in a subprocess: ALSA reads its configuration once per process, and these tests point
it at tests/audio/alsa-test.conf.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).parent


def alsa_env(tmp_path: Path) -> dict[str, str]:
    conf = tmp_path / "asound.conf"
    conf.write_text((HERE / "alsa-test.conf").read_text().replace("@PLAYED@",
                                                                   str(tmp_path / "played.raw")))
    return {**os.environ, "ALSA_CONFIG_PATH": str(conf)}


def run_py(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=60)


def test_capture_and_playback_by_name(tmp_path: Path) -> None:
    proc = run_py("""
        import time
        import numpy as np
        from vitad.audio.devices import DeviceSink, DeviceSource, list_devices
        names = [d.name for d in list_devices()]
        assert "vitadnull" in names, names
        src = DeviceSource("VITADNULL", chunk_ms=80, max_chunks=5)   # by name, any case
        src.open()
        time.sleep(1.0)
        chunk = src.queue.get(timeout=2)
        assert chunk.rate == 16000 and chunk.samples.dtype == np.int16
        assert len(chunk.samples) == 1280
        assert src.queue.qsize() <= 5 and src.dropped > 0   # bounded: oldest dropped
        src.close()
        sink = DeviceSink("vitadfile", 22050)
        sink.open()
        sink.write((np.sin(np.arange(22050) / 5) * 8000).astype(np.int16))
        sink.close()
        print("ok")
    """, alsa_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    played = (tmp_path / "played.raw").read_bytes()
    assert len(played) >= 22050 * 2 * 0.9  # one second of int16 reached the ALSA device


def test_missing_device_is_a_one_line_error(tmp_path: Path) -> None:
    proc = run_py("""
        from vitad.audio.devices import DeviceError, DeviceSource
        try:
            DeviceSource("USB PnP Sound Device", 80, 5).open()
        except DeviceError as exc:
            print(exc)
    """, alsa_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "input device 'USB PnP Sound Device' not found (see 'vitad devices')")


def test_vitad_devices_lists_them(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "vitad", "devices"], env=alsa_env(tmp_path),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "vitadnull" in proc.stdout and "vitadfile" in proc.stdout
