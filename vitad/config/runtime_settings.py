"""[runtime] and [privacy] config sections. Composed into vitad.config.schema.

Every field has a default so an empty ``vitad.toml`` runs a sensible appliance. The defaults
match the paths systemd creates for ``systemd/vitad.service`` (``StateDirectory=vitad`` ->
/var/lib/vitad, ``RuntimeDirectory=vitad`` -> /run/vitad, ``CacheDirectory=vitad``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class RuntimeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # --- places -------------------------------------------------------------------------
    state_dir: Path = Field(
        Path("/var/lib/vitad"), description="SQLite records (vitad.db) live here"
    )
    cache_dir: Path = Field(
        Path("/var/cache/vitad"), description="scratch files; stale vitad-* temp files pruned"
    )
    health_socket: Path = Field(
        Path("/run/vitad/health.sock"), description="unix socket answered by `vitad health`"
    )
    metrics_textfile: str = Field(
        "",
        description=(
            "node_exporter textfile path, e.g. /var/lib/node_exporter/textfile_collector/"
            "vitad.prom; empty = metrics file off"
        ),
    )
    metrics_interval_s: Annotated[float, Field(ge=1, le=3600)] = 15.0

    # --- watchdog -----------------------------------------------------------------------
    loop_deadline_s: Annotated[float, Field(ge=1, le=600)] = Field(
        10.0, description="a critical loop that shows no progress this long withholds WATCHDOG=1"
    )

    # --- resource ceilings (guard): exceeded -> planned restart at the next idle moment ---
    max_rss_mb: Annotated[int, Field(ge=64, le=65536)] = 1200
    max_fds: Annotated[int, Field(ge=32, le=1_000_000)] = 512
    max_threads: Annotated[int, Field(ge=4, le=10000)] = 64
    min_free_disk_mb: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    guard_interval_s: Annotated[float, Field(ge=1, le=3600)] = 30.0
    guard_strikes: Annotated[int, Field(ge=1, le=100)] = Field(
        3, description="consecutive over-ceiling samples before a restart is planned"
    )
    guard_min_uptime_s: Annotated[float, Field(ge=0, le=86400)] = Field(
        600.0,
        description="no self-restart before this uptime (keeps us far from StartLimitBurst)",
    )

    # --- device retry (a missing USB mic must never crash or restart the daemon) --------
    device_retry_initial_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    device_retry_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    device_retry_log_every: Annotated[int, Field(ge=1, le=10000)] = Field(
        20, description="after the first failure, log a retry only every Nth attempt"
    )
    device_restart_after: Annotated[int, Field(ge=0, le=10000)] = Field(
        8,
        description=(
            "exit (so systemd restarts us) after this many failed opens of a device that the "
            "kernel lists in /proc/asound — a restart can help there; 0 = never. An absent "
            "device is retried forever and never causes a restart"
        ),
    )

    # --- records ------------------------------------------------------------------------
    retention_days: Annotated[int, Field(ge=1, le=3650)] = Field(
        90, description="interactions, counters and acknowledged reports older than this go"
    )
    db_queue_max: Annotated[int, Field(ge=10, le=100_000)] = 2000
    report_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0


class PrivacySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    store_transcripts: StrictBool = Field(
        False, description="keep what customers said in the records DB (off by default)"
    )
    retention_days: Annotated[int, Field(ge=0, le=3650)] = Field(
        7, description="transcripts are erased after this many days (0 = at the next prune)"
    )
