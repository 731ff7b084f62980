"""Runtime settings for a process custseg owns: the ``custseg`` command applies them, a library user opts in.

Each changes the whole process, which a notebook or a service embedding :func:`custseg.run`
should not inherit unasked; each was measured on the reference run (``bench/bench_tuning.py``,
BENCHMARKS.md). Inside :func:`tuned`:

- **short GIL turns**: DuckDB's Python client takes the GIL after every task of a query (to
  notice Ctrl-C), and threads running Python beside it (imports, the second population, the
  views) hold it for Python's default 5 ms turn; at 0.1 ms the feature SQL beside a Python thread
  took 2.2 s instead of 9.4 s (``bench/bench_gil.py``);
- **imports ahead**: the clustering and report libraries (~1.5 s of Python) are imported on a
  thread while DuckDB reads the data, which releases the GIL;
- **the collector held back**: those imports make ~250k objects that would set off full
  collections; the collector waits for them, then they are moved out of its sight (``gc.freeze``);
- **freed arrays handed back** (glibc): an allocation from 1 MiB up gets a mapping of its own,
  returned to the system when freed, where glibc's sliding threshold (up to 32 MiB) keeps many
  freed arrays in the heap: at 10M customers the run's peak was ~0.6 GiB lower (8.9 -> 8.2 GiB).
  This one stays after the block: glibc has no way back to its sliding threshold.

:func:`exit_now` ends the command without Python's teardown (~0.5-1 s of freeing modules).

    with custseg.tuning.tuned():
        result = custseg.run("orders.csv", out="report/")
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from contextlib import contextmanager

#: How often (seconds) a thread running Python hands the GIL to one that waits (Python's: 0.005).
GIL_TURN_SECONDS = 0.0001
#: What a run imports after reading the data: imported ahead, beside the reading.
RUN_MODULES = ("pandas", "custseg.pipeline", "custseg.cluster._kernels", "custseg.report.html", "pyarrow.parquet")
#: ... and what slides and the deck add.
SLIDE_MODULES = ("custseg.report.deck",)
#: What the slides' browser needs at the start of a run, on the main thread (see :func:`tuned`).
SLIDE_DRIVER = ("kaleido",)
#: Allocations from this size up are mapped on their own and handed back when freed (glibc).
MMAP_THRESHOLD_BYTES = 1 << 20


@contextmanager
def tuned(preload: tuple[str, ...] = RUN_MODULES, first: tuple[str, ...] = ()):
    """Short GIL turns, ``preload`` imported on a thread, and the collector held back meanwhile;
    everything restored on exit. Not re-entrant across threads: one per process at a time.

    ``first``: what the calling thread imports at once (the slides' browser driver, whose import
    pulls in Plotly's): imported before the thread starts, so that two threads never import one
    package at the same time (Python stops such a pair with a _DeadlockError when a package's
    ``__init__`` imports its own submodules, as narwhals.stable does)."""
    for name in first:
        importlib.import_module(name)
    _hand_back_large_frees()
    interval, collecting = sys.getswitchinterval(), gc.isenabled()
    sys.setswitchinterval(min(GIL_TURN_SECONDS, interval))
    gc.disable()
    imports = threading.Thread(target=_import_then_freeze, args=(preload, collecting), name="custseg-imports", daemon=True)
    imports.start()
    try:
        yield
    finally:
        imports.join()
        gc.unfreeze()
        if collecting:
            gc.enable()
        sys.setswitchinterval(interval)


def _hand_back_large_frees() -> None:
    """glibc's ``mallopt(M_MMAP_THRESHOLD, ...)``; elsewhere (macOS, musl) nothing to do."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt(-3, MMAP_THRESHOLD_BYTES)  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def _import_then_freeze(modules: tuple[str, ...], collecting: bool) -> None:
    for name in modules:
        try:
            module = importlib.import_module(name)
            if hasattr(module, "compile_now"):  # Numba kernels: load the cached machine code too
                module.compile_now()
            if hasattr(module, "warm_up"):  # the report's template and Plotly's script
                module.warm_up()
        except Exception:  # noqa: BLE001 - the main thread's own import reports it
            break
    gc.freeze()  # the libraries' objects: out of the collector's sight for the run
    if collecting:
        gc.enable()


def exit_now(code: int) -> None:
    """End the process once the streams are flushed, without freeing every module's objects."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
