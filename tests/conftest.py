"""Shared test helpers: run the CLI in-process and capture what a user would see."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from custseg.data import online_retail_file

ONLINE_RETAIL = online_retail_file()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Call `custseg ARGS...` through its real entry point (no subprocess start-up cost)."""
    from custseg.cli import main

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["custseg", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def olist_result():
    """The reference analysis of the bundled real Olist data (``custseg.run``), once per session."""
    from custseg.api import run
    from custseg.data import olist_folder

    return run(olist_folder())
