"""Small helpers shared by the benchmark scripts."""

from __future__ import annotations

import os


def cpu_description() -> str:
    """``"<model name>, <n> logical cores"`` from /proc/cpuinfo ("unknown" elsewhere)."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical cores"
