"""bench/dialogue_accuracy.py --transcripts: the dialogue re-scored on recorded ASR output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "bench" / "dialogue_accuracy.py"


def _clip(cid: str, intent: str | None, kind: str | None = None, number: int | None = None,
          kind_of_clip: str = "utterance") -> dict:
    return {"id": cid, "type": kind_of_clip, "text": "the words said", "intent": intent,
            "kind": kind, "number": number, "split": "dev"}


def _files(tmp_path: Path, fingerprint: str = "abc") -> tuple[Path, Path]:
    manifest = {"fingerprint": "abc", "clips": [
        _clip("u1", "hours"), _clip("u2", "report_problem", "dryer", 7),
        _clip("u3", "prices"), _clip("u4", "fallback"),
        _clip("z1", None, kind_of_clip="noise_only"),
    ]}
    recorded = [  # what a recognizer heard, and what the dialogue of that day answered
        {"id": "u1", "transcript": "what time do you close", "confidence": 0.9,
         "intent": "fallback", "slots": {}},
        {"id": "u2", "transcript": "dryer seven is not heating", "confidence": 0.95,
         "intent": "report_problem", "slots": {"machine_type": "dryer"}},  # number lost
        {"id": "u3", "transcript": None, "confidence": None, "intent": None, "slots": {}},
        {"id": "u4", "transcript": "tell me a joke", "confidence": None,
         "intent": "fallback", "slots": {}},
        {"id": "z1", "transcript": "how much is the big washer", "confidence": 0.2,
         "intent": "clarify", "slots": {}},
    ]
    results = {"split": "dev", "corpus_fingerprint": fingerprint,
               "rows": [{"name": "some engine", "clips": recorded}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "results.json").write_text(json.dumps(results))
    return tmp_path / "results.json", tmp_path / "manifest.json"


def _run(results: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--transcripts", str(results),
                           "--manifest", str(manifest)], capture_output=True, text=True,
                          cwd=REPO, timeout=120, env={"PYTHONPATH": str(REPO)})


def test_recorded_transcripts_are_scored_by_todays_dialogue(tmp_path: Path) -> None:
    out = _run(*_files(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "some engine: 4 clips transcribed (1 not)" in out.stdout
    recorded = next(line for line in lines if line.strip().startswith("recorded"))
    now = next(line for line in lines if line.strip().startswith("now"))
    # recorded: u2 lost its number (wrong), u1 missed; now both right, the joke and the
    # low-confidence question on noise stay unanswered (on noise, not answering is right).
    assert "correct  50.0 % (2)  wrong 1  clarify 0  missed 1" in recorded
    assert "correct 100.0 % (4)  wrong 0  clarify 0  missed 0" in now
    assert "missed→correct  hours: 'what time do you close' (conf 0.90)" in out.stdout


def test_results_of_another_corpus_are_refused_in_one_line(tmp_path: Path) -> None:
    out = _run(*_files(tmp_path, fingerprint="other"))
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0 and "fingerprint" in out.stderr
    assert "Traceback" not in out.stderr
