"""HealthModel, HealthServer over a real unix socket, query_health, exit codes."""

from __future__ import annotations

import os
import socket
import stat
import threading

import pytest

from vitad.events import Degraded, StageError, TurnEnd
from vitad.runtime.health import (
    COMPONENTS,
    EXIT_DEGRADED,
    EXIT_DOWN,
    EXIT_OK,
    HealthModel,
    HealthServer,
    exit_code,
    query_health,
)


@pytest.fixture
def served(short_dir):
    model = HealthModel()
    server = HealthServer(short_dir / "run" / "health.sock", model.snapshot)
    assert server.start()
    yield model, server
    server.stop()


def test_roundtrip_reports_components_and_process(served):
    model, server = served
    model.set_status("listening")
    doc = query_health(server.path)
    assert doc is not None
    assert doc["state"] == "ok" and doc["status"] == "listening"
    assert set(doc["components"]) == set(COMPONENTS)
    assert doc["components"]["asr"]["fallback"] is False
    assert doc["pid"] == os.getpid()
    assert doc["rss_mb"] > 1 and doc["open_fds"] > 2 and doc["threads"] >= 2
    assert doc["uptime_s"] >= 0
    assert exit_code(doc) == EXIT_OK


def test_socket_permissions_and_parent_created(served):
    _, server = served
    st = server.path.stat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660


def test_degraded_component_gives_exit_1(served):
    model, server = served
    model.on_event(
        Degraded(
            t=1, component="asr", mode="asr_fallback", active=True, detail="vosk model missing"
        )
    )
    doc = query_health(server.path)
    assert doc is not None
    asr = doc["components"]["asr"]
    assert asr["state"] == "degraded" and asr["fallback"] is True
    assert asr["mode"] == "asr_fallback" and asr["last_error"] == "vosk model missing"
    assert doc["state"] == "degraded" and exit_code(doc) == EXIT_DEGRADED
    model.on_event(Degraded(t=2, component="asr", mode="asr_fallback", active=False))
    doc = query_health(server.path)
    assert doc is not None and doc["state"] == "ok"
    assert doc["components"]["asr"]["fallback"] is False


def test_disabled_is_healthy_failed_is_not():
    model = HealthModel()
    model.set("display", "disabled")
    assert model.overall() == "ok"
    model.set("mic", "failed", "no capture device")
    snap = model.snapshot()
    assert snap["state"] == "degraded"
    assert snap["components"]["mic"] == {
        **snap["components"]["mic"],
        "state": "failed",
        "last_error": "no capture device",
    }
    with pytest.raises(ValueError):
        model.set("mic", "broken")


def test_turns_and_errors_from_events():
    model = HealthModel()
    model.on_event(TurnEnd(t=1, turn_id="a", outcome="answered"))
    model.on_event(TurnEnd(t=2, turn_id="b", outcome="no_speech"))
    model.on_event(StageError(t=3, stage="audio_in", code="mic.overflow", message="xrun"))
    snap = model.snapshot()
    assert snap["turns_today"] == 2 and snap["last_turn_at"] is not None
    assert snap["components"]["mic"]["last_error"] == "mic.overflow: xrun"
    assert snap["components"]["mic"]["state"] == "ok"  # an error alone does not degrade


def test_unreachable_is_exit_2(short_dir):
    assert query_health(short_dir / "nothing.sock", timeout=0.5) is None
    assert exit_code(None) == EXIT_DOWN
    # A socket file nobody listens on (daemon killed -9): also 2, quickly.
    path = short_dir / "stale.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()
    assert query_health(path, timeout=0.5) is None


def test_garbage_answer_is_unreachable(short_dir):
    path = short_dir / "junk.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)

    def answer() -> None:
        conn, _ = srv.accept()
        conn.sendall(b"not json")
        conn.close()

    t = threading.Thread(target=answer)
    t.start()
    assert query_health(path, timeout=1) is None
    t.join()
    srv.close()


def test_stale_socket_is_replaced_and_removed_on_stop(short_dir):
    path = short_dir / "health.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # leftover from a killed daemon
    server = HealthServer(path, lambda: {"state": "ok"})
    assert server.start()
    assert query_health(path) == {"state": "ok"}
    server.stop()
    assert not path.exists()


def test_refuses_to_replace_a_regular_file(short_dir):
    path = short_dir / "health.sock"
    path.write_text("important")
    assert HealthServer(path, dict).start() is False
    assert path.read_text() == "important"


def test_failing_provider_still_answers(short_dir):
    def broken() -> dict:
        raise RuntimeError("boom")

    server = HealthServer(short_dir / "h.sock", broken)
    assert server.start()
    try:
        doc = query_health(server.path)
        assert doc is not None and doc["state"] == "degraded" and "boom" in doc["status"]
        assert exit_code(doc) == EXIT_DEGRADED
    finally:
        server.stop()


def test_many_queries(served):
    _, server = served
    for _ in range(50):
        assert query_health(server.path) is not None
    assert server.served == 50
