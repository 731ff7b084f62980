"""Runtime tuning (custseg.tuning): the CLI applies it, the library leaves the process alone."""

from __future__ import annotations

import gc
import sys

import pytest

from custseg.tuning import GIL_TURN_SECONDS, tuned


def test_tuned_sets_and_restores_the_process_settings():
    before, collecting = sys.getswitchinterval(), gc.isenabled()
    with tuned(("json",)):
        assert sys.getswitchinterval() == pytest.approx(GIL_TURN_SECONDS)
    assert sys.getswitchinterval() == before and gc.isenabled() == collecting and gc.get_freeze_count() == 0
    with pytest.raises(ZeroDivisionError), tuned(("json",)):
        1 / 0
    assert sys.getswitchinterval() == before and gc.isenabled() == collecting and gc.get_freeze_count() == 0


def test_tuned_imports_ahead_and_holds_the_collector_back_meanwhile(monkeypatch):
    """The collector is off while the modules are imported, then on, with their objects frozen."""
    import threading

    import custseg.tuning as tuning

    started, release, seen = threading.Event(), threading.Event(), {}
    real = tuning.importlib.import_module

    def slow_import(name):
        started.set()
        release.wait(10)
        return real(name)

    monkeypatch.setattr(tuning.importlib, "import_module", slow_import)
    with tuned(("colorsys",)):
        assert started.wait(10)
        seen["importing"] = gc.isenabled()
        release.set()
        for _ in range(1000):
            if gc.get_freeze_count():
                break
            threading.Event().wait(0.01)
        seen["frozen"] = gc.get_freeze_count() > 0
    assert seen == {"importing": False, "frozen": True}
    assert "colorsys" in sys.modules and gc.get_freeze_count() == 0


def test_the_library_leaves_the_process_settings_alone(tmp_path):
    """custseg.run in a notebook or a service changes neither the GIL turns nor the collector."""
    import custseg
    from custseg.data import online_retail_file

    before, seen = sys.getswitchinterval(), set()
    custseg.run(online_retail_file(), preset="online_retail", report=False,
                progress=lambda _m: seen.add((sys.getswitchinterval(), gc.isenabled(), gc.get_freeze_count())))
    assert seen == {(before, True, 0)}


def test_the_command_runs_tuned(run_cli, tmp_path, monkeypatch):
    import custseg.api as api
    from custseg.data import online_retail_file

    seen, real = set(), api.run

    def watched(*args, **kwargs):
        seen.add(sys.getswitchinterval())
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "run", watched)
    result = run_cli("run", "--data", online_retail_file(), "--preset", "online_retail", "--no-slides", "--quiet", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert [round(v, 9) for v in seen] == [GIL_TURN_SECONDS]
