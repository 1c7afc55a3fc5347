"""The [runtime]/[privacy] sections: defaults, strictness, composition into Config."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vitad.config.runtime_settings import PrivacySettings, RuntimeSettings


def test_defaults_match_the_unit_file():
    rt = RuntimeSettings()
    assert rt.state_dir == Path("/var/lib/vitad")
    assert rt.health_socket == Path("/run/vitad/health.sock")
    assert rt.metrics_textfile == ""
    assert PrivacySettings().store_transcripts is False


def test_unknown_keys_and_bad_values_are_rejected():
    with pytest.raises(ValidationError):
        RuntimeSettings(max_rss=10)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RuntimeSettings(max_fds=0)
    with pytest.raises(ValidationError):
        PrivacySettings(retention_days=-1)
    with pytest.raises(ValidationError):
        RuntimeSettings().state_dir = Path("/tmp")  # type: ignore[misc]


def test_composed_into_config():
    config = pytest.importorskip("vitad.config")
    cfg = config.Config.model_validate(
        {"runtime": {"max_rss_mb": 900}, "privacy": {"store_transcripts": True}}
    )
    assert cfg.runtime.max_rss_mb == 900 and cfg.privacy.store_transcripts
