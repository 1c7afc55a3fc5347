"""ops/prometheus + ops/grafana against the real tools: promtool, and a real Prometheus scraping
a real node_exporter that serves the textfile a real ``vitad run`` writes.

Skipped only when the tools are missing outside CI; with ``CI`` set a missing tool fails
(.ci/run installs the Debian packages ``prometheus`` and ``prometheus-node-exporter``).
Everything listens on loopback ports chosen at run time; every process is killed in ``finally``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, write_config

OPS = REPO / "ops"
ALERTS = OPS / "prometheus" / "alerts.yml"
DASHBOARD = OPS / "grafana" / "vitad-fleet.json"
SHOP = "test-shop"
BUDGET_S = 80.0  # the whole real-Prometheus test; the brief allows 90 s
# Exported only after the event that creates their label values (an error, a turn, a guard
# restart, a degraded mode other than the injected one): checked in the textfile's HELP lines.
EVENT_ONLY = {"vitad_errors_total", "vitad_turns_total", "vitad_guard_restart_requests_total"}


def tool(*names: str) -> str:
    for name in names:
        if path := shutil.which(name):
            return path
    message = f"{names[0]} is not installed (Debian: prometheus, prometheus-node-exporter)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must have it (.ci/run)")
    pytest.skip(message)


def alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


# --- promtool -----------------------------------------------------------------------------------
def test_promtool_checks_and_unit_tests_the_rules() -> None:
    promtool = tool("promtool")
    for args in (["check", "rules", str(ALERTS)],
                 ["check", "config", str(OPS / "prometheus" / "prometheus.yml")],
                 ["test", "rules", str(OPS / "prometheus" / "alerts_test.yml")]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(args)}:\n{done.stdout}{done.stderr}"


def test_every_alert_has_a_firing_and_a_quiet_unit_test() -> None:
    tests = yaml.safe_load((OPS / "prometheus" / "alerts_test.yml").read_text())["tests"]
    cases = [c for t in tests for c in t["alert_rule_test"]]
    for rule in alert_rules():
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] for c in mine), f"{rule['alert']}: no test where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{rule['alert']}: no quiet test"
        assert rule["annotations"]["summary"].startswith("{{ $labels.shop }}"), rule["alert"]


# --- the real thing -----------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """The HTTP API of a Prometheus on loopback."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as resp:
            doc = json.load(resp)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.get("/api/v1/query", query=expr)
        return list(data["result"]) if data["resultType"] == "vector" else [data["result"]]

    def alerts(self, name: str) -> list[dict[str, Any]]:
        return [a for a in self.get("/api/v1/alerts")["alerts"]
                if a["labels"]["alertname"] == name and a["labels"].get("shop") == SHOP]


def wait_until(what: str, deadline: float, check: Any, every: float = 0.5) -> Any:
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):  # a server still starting refuses connections
            last = check()
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@contextlib.contextmanager
def process(args: list[str], log: Path, **kwargs: Any) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def prometheus_config(tmp_path: Path, exporter_port: int) -> Path:
    """Scrape every second; the shipped alerts with every ``for:`` cut to 1 s."""
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    rules = tmp_path / "alerts.yml"
    rules.write_text(yaml.safe_dump(doc))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{
            "job_name": "vitad",
            "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"],
                                "labels": {"shop": SHOP}}],
        }],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def wait_ready(notify: socket.socket, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            if "READY=1" in notify.recv(4096).decode().splitlines():
                return
    raise AssertionError("vitad sent no READY=1")


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\b(?:vitad|node)_[a-z_]+\b", expr)) | (
        {"up"} if re.search(r"\bup\{", expr) else set())


def test_alerts_and_dashboard_against_real_prometheus_node_exporter_and_vitad(
        tmp_path: Path) -> None:
    prometheus_bin = tool("prometheus")
    exporter_bin = tool("prometheus-node-exporter", "node_exporter")
    deadline = time.monotonic() + BUDGET_S
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    # The injected condition: a microphone that is not there (vitad keeps running, degraded).
    config = write_config(
        tmp_path,
        audio={"input": "USB PnP Sound Device", "output": "null"},
        runtime={"metrics_textfile": str(textdir / "vitad.prom"), "metrics_interval_s": 1.0,
                 "cache_dir": str(tmp_path / "cache")},
    )
    exporter_port, prom_port = free_port(), free_port()
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.5)
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "5000000"}
    with contextlib.ExitStack() as stack:
        stack.callback(notify.close)
        daemon = stack.enter_context(process(
            [sys.executable, "-m", "vitad", "run", "--config", str(config)],
            tmp_path / "daemon.log", env=env))
        stack.enter_context(process(
            [exporter_bin, f"--web.listen-address=127.0.0.1:{exporter_port}",
             "--collector.disable-defaults", "--collector.textfile",
             f"--collector.textfile.directory={textdir}", "--collector.filesystem",
             # a container's / is often overlay, which node_exporter skips by default
             "--collector.filesystem.fs-types-exclude=^(autofs|cgroup2?|nsfs|proc|sysfs)$"],
            tmp_path / "node_exporter.log"))
        stack.enter_context(process(
            [prometheus_bin, f"--config.file={prometheus_config(tmp_path, exporter_port)}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            tmp_path / "prometheus.log"))
        prom = Prometheus(prom_port)
        try:
            wait_ready(notify, deadline)
            wait_until("vitad_ready == 1 in Prometheus", deadline,
                       lambda: prom.query(f'vitad_ready{{shop="{SHOP}"}} == 1'))
            time.sleep(2.5)  # a few more scrapes, so rate()/increase() windows have 2+ points

            # Every dashboard query returns series for the shop.
            for expr in dashboard_exprs():
                concrete = expr.replace("$shop", SHOP).replace("$__rate_interval", "30s")
                assert prom.query(concrete), f"dashboard query returns nothing: {concrete}"

            # Every alert expression is valid and evaluates; every metric it uses exists.
            textfile = (textdir / "vitad.prom").read_text()
            for rule in alert_rules():
                prom.query(rule["expr"])  # raises on a query error
                for name in metric_names(rule["expr"]):
                    if name in EVENT_ONLY:
                        assert f"# TYPE {name} " in textfile, f"{rule['alert']}: {name}"
                    else:
                        assert prom.query(f'{name}{{shop="{SHOP}"}}'), f"{rule['alert']}: {name}"

            # The injected condition fires its alert, and only the alerts it should.
            firing = wait_until("VitadMicrophoneMissing firing", deadline, lambda: [
                a for a in prom.alerts("VitadMicrophoneMissing") if a["state"] == "firing"])
            assert firing[0]["labels"]["mode"] == "mic_unavailable"
            assert "microphone missing" in firing[0]["annotations"]["summary"]
            # Other degraded modes of this machine (e.g. asr_fallback without the Vosk model)
            # fire VitadDegraded with their component named; the mic is not alerted twice.
            others = {("VitadDegraded", s["metric"]["component"]) for s in prom.query(
                f'vitad_degraded{{shop="{SHOP}", component!~"mic|speaker"}} == 1')}
            wait_until("every VitadDegraded firing", deadline, lambda: {
                ("VitadDegraded", a["labels"]["component"])
                for a in prom.alerts("VitadDegraded") if a["state"] == "firing"} == others)
            active = {(a["labels"]["alertname"], a["labels"].get("component"))
                      for a in prom.get("/api/v1/alerts")["alerts"]}
            assert active == {("VitadMicrophoneMissing", None)} | others, active

            # A stopped daemon says so: vitad_ready 0 -> VitadNotReady.
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=max(1.0, deadline - time.monotonic())) == 0
            wait_until("VitadNotReady firing", deadline, lambda: [
                a for a in prom.alerts("VitadNotReady") if a["state"] == "firing"])
        except BaseException:
            for log in ("daemon.log", "node_exporter.log", "prometheus.log"):
                sys.stderr.write(f"--- {log}\n{(tmp_path / log).read_text()[-3000:]}\n")
            raise
