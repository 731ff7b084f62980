"""Settings that must fit the machine's memory are checked before any work (issue 24)."""

from __future__ import annotations

import pytest

from custseg.config import from_dict, reference
from custseg.errors import InputError
from custseg.machine import check_memory, parse_size

GIB = 2**30


@pytest.mark.parametrize("text, size", [("4GB", 4 * 10**9), ("512MiB", 512 * 2**20), ("1.5 GiB", int(1.5 * GIB)), ("123", 123)])
def test_sizes_read_as_duckdb_writes_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "4 GBs", "-1GB", ""])
def test_a_size_that_is_not_one(text):
    assert parse_size(text) is None


def test_the_reference_budget_fits_a_machine_of_8_gib():
    check_memory(reference(), total=8 * GIB, environ={})  # 4e9 bytes: under half of 8 GiB


def test_a_ward_budget_over_half_the_memory_is_refused_naming_the_setting():
    config = from_dict({"cluster": {"memory_budget_bytes": 5_000_000_000}}, source="big.toml")
    with pytest.raises(InputError) as err:
        check_memory(config, total=8 * GIB, environ={})
    message = str(err.value)
    assert message.startswith("big.toml: [cluster] memory_budget_bytes = 5,000,000,000 (4.7 GiB)")
    assert "at most 4,294,967,296" in message and "\n" not in message


def test_a_duckdb_limit_over_the_memory_is_refused():
    with pytest.raises(InputError, match=r"^CUSTSEG_DUCKDB_MEMORY=64GB: more than this machine's memory \(8.0 GiB\)"):
        check_memory(reference(), total=8 * GIB, environ={"CUSTSEG_DUCKDB_MEMORY": "64GB"})
    with pytest.raises(InputError, match="not a size"):
        check_memory(reference(), total=8 * GIB, environ={"CUSTSEG_DUCKDB_MEMORY": "plenty"})
    check_memory(reference(), total=8 * GIB, environ={"CUSTSEG_DUCKDB_MEMORY": "2GB"})


def test_run_refuses_before_writing_anything(run_cli, tmp_path):
    from custseg.data import olist_folder
    from custseg.machine import physical_memory

    config = tmp_path / "huge.toml"
    config.write_text(f"[cluster]\nmemory_budget_bytes = {physical_memory()}\n")
    out = tmp_path / "out"
    result = run_cli("run", "--data", olist_folder(), "--out", out, "--config", config, "--quiet")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("custseg: error: huge.toml: [cluster] memory_budget_bytes = ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
