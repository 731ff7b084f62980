"""What this machine's memory can hold, and the settings that must fit in it (issue 24): a run
whose configured step cannot fit is refused before any work, with the setting to change."""

from __future__ import annotations

import os
import re

from custseg.errors import InputError

#: The largest share of the machine's memory one exact Ward matrix (``[cluster]
#: memory_budget_bytes``) may take: the customer table, the prepared features and the process
#: need the rest.
WARD_MATRIX_SHARE = 0.5
#: The DuckDB memory limit's variable (custseg.engines.duckdb.connection).
DUCKDB_MEMORY_VARIABLE = "CUSTSEG_DUCKDB_MEMORY"

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*", re.IGNORECASE)


def physical_memory() -> int | None:
    """Bytes of memory this machine has (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def parse_size(text: str) -> int | None:
    """A size as DuckDB reads it (``4GB``, ``512MiB``, or a plain number of bytes), in bytes;
    None when the text is not a size."""
    found = _SIZE.fullmatch(str(text))
    if not found:
        return None
    return int(float(found.group(1)) * _UNITS[(found.group(2) or "b").lower()])


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_memory(config, *, total: int | None = None, environ=None) -> None:
    """An InputError naming the setting when a configured memory size cannot fit this machine
    (``total`` bytes; default: its physical memory): the exact Ward budget, DuckDB's limit."""
    total = total if total is not None else physical_memory()
    environ = os.environ if environ is None else environ
    if not total:
        return
    budget = int(config.cluster.get("memory_budget_bytes", 0))
    if budget > total * WARD_MATRIX_SHARE:
        raise InputError(
            f"{config.source}: [cluster] memory_budget_bytes = {budget:,} ({_gib(budget)}) is more than half of this machine's "
            f"memory ({_gib(total)}), so an exact Ward step that large cannot fit; set it to at most {int(total * WARD_MATRIX_SHARE):,}"
        )
    given = environ.get(DUCKDB_MEMORY_VARIABLE)
    if given:
        limit = parse_size(given)
        if limit is None:
            raise InputError(f"{DUCKDB_MEMORY_VARIABLE}={given!r}: not a size; write it like 4GB or 4096MiB")
        if limit > total:
            raise InputError(f"{DUCKDB_MEMORY_VARIABLE}={given}: more than this machine's memory ({_gib(total)}); "
                             "set a smaller limit, or unset it for a quarter of the memory")
