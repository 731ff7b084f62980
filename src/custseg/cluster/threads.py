"""Native thread pools (OpenMP, BLAS) held at one thread while clustering.

Fits are made single-threaded so they are the same on every machine; parallelism comes from
running independent fits side by side (:mod:`custseg.cluster.evidence`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

__all__ = ["limit_this_thread", "single_threaded"]

_LIMITS_LOCK = threading.Lock()
_limits_held = 0
_blas_limiter = None
_controller = None


def _threadpools():
    """One threadpoolctl controller for the process (each new one scans every loaded library: ~3 ms)."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


def limit_this_thread() -> None:
    """Limit OpenMP to one thread in the calling thread (OpenMP's limit is per thread); a
    thread pool's ``initializer``, so every worker fits single-threaded."""
    _threadpools().limit(limits=1, user_api="openmp")


@contextmanager
def single_threaded():
    """Limit native thread pools (OpenMP, BLAS) to one thread while fitting.

    scikit-learn's KMeans adds per-thread partial sums, so its centres (and, in rare near-ties,
    labels) depend on the number of cores at the 1e-15 level; one thread makes custseg's fits
    the same on every machine. It is also faster for these small problems on a busy machine
    (OpenMP threads spin while they wait). Parallelism comes from running independent fits
    side by side instead (see :mod:`custseg.cluster.evidence`).

    Safe when several threads hold it at once (populations, the dendrogram's tree and the
    evidence run side by side): OpenMP's limit is set for the calling thread only, and BLAS's
    limit, which is process-wide, is set by the first holder and restored by the last, so one
    thread leaving cannot lift it under another that is still fitting.
    """
    global _limits_held, _blas_limiter
    with _LIMITS_LOCK:
        if _limits_held == 0:
            _blas_limiter = _threadpools().limit(limits=1, user_api="blas")
        _limits_held += 1
    try:
        with _threadpools().limit(limits=1, user_api="openmp"):
            yield
    finally:
        with _LIMITS_LOCK:
            _limits_held -= 1
            if _limits_held == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None
