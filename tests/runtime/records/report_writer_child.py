"""Child process for test_writer.py's kill -9 test (not a test module).

Writes a burst of problem reports (plus background interaction noise) and prints each report
id on stdout once ``add_report`` has returned it, i.e. once the daemon would have told the
customer "reported". The parent kills it with SIGKILL at a random moment.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from vitad.config.runtime_settings import RuntimeSettings
from vitad.runtime.records import Interaction, RecordStore


def main() -> None:
    store = RecordStore(RuntimeSettings(state_dir=Path(sys.argv[1])))
    store.start()

    def noise() -> None:
        while True:
            store.record_interaction(
                Interaction(time.time(), "answered", intent="hours", latency_s=0.5)
            )
            store.incr("wakes")
            time.sleep(0.0002)

    threading.Thread(target=noise, daemon=True).start()
    os.write(1, b"ready\n")
    i = 0
    while True:
        rid = store.add_report("washer", i % 20, f"report {i} " + "x" * (i % 300))
        if rid is not None:
            os.write(1, f"{rid}\n".encode())
        i += 1


if __name__ == "__main__":
    main()
