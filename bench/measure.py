"""Measure a command: wall time and peak resident memory of the process tree's largest process.

Used by every benchmark so figures are taken the same way: the command runs in a fresh
process (imports included), and `os.wait4` reports its peak RSS (ru_maxrss, KiB on Linux).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    returncode: int
    cpu_seconds: float = 0.0  # user + system, all threads


def measure(argv: list[str], *, env: dict | None = None, cwd: str | None = None, quiet: bool = True) -> Measurement:
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, cwd=cwd,
        stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.PIPE if quiet else None,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(argv)} failed with {code}: {err[-2000:]}")
    return Measurement(seconds, usage.ru_maxrss / 1024, code, usage.ru_utime + usage.ru_stime)


def python_snippet(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def machine_line() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {mem_gb:.0f} GiB RAM, Python {platform.python_version()}, {platform.system()} {platform.release()}"
