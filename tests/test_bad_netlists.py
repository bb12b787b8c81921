"""Golden-file tests of the user's mistakes: every ``tests/bad/NAME.yaml`` is refused by
``lstm-hw validate`` with exactly the text of ``NAME.err`` on stderr (as Verilator's
``t_*_bad.v`` / ``.out`` pairs).

The real console script runs in ``tests/bad``, so the paths in the messages are the short names.
Each message must be ``file:line:col: error: ...`` with the source line and a caret under the
right column, exit status 2, nothing on stdout and never a traceback.

To rewrite the golden files after changing a message: ``LSTM_HW_REGOLD=1 pytest
tests/test_bad_netlists.py``, then read every changed ``.err`` (``git diff tests/bad``) before
keeping it.
"""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_helpers import console_script

BAD = Path(__file__).parent / "bad"
CASES = sorted(p.stem for p in BAD.glob("*.yaml"))
REGOLD = os.environ.get("LSTM_HW_REGOLD") == "1"


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess]:
    """Every case run once, a few at a time (each run is mostly Python start-up)."""
    script = console_script()

    def validate(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([script, "validate", f"{name}.yaml"], cwd=BAD, capture_output=True,
                              text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(CASES, pool.map(validate, CASES)))


@pytest.mark.parametrize("name", CASES)
def test_bad_netlist(name: str, results) -> None:
    proc = results[name]
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    golden = BAD / f"{name}.err"
    if REGOLD:
        golden.write_text(proc.stderr, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name} (run with LSTM_HW_REGOLD=1)"
    assert proc.stderr == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_its_netlist() -> None:
    stale = sorted(p.name for p in BAD.glob("*.err") if p.stem not in CASES)
    assert not stale, f"golden files without a netlist: {stale}"


def test_messages_point_into_the_file(results) -> None:
    """Each error (except an empty file's) names NAME.yaml:line:col and shows a caret."""
    for name, proc in results.items():
        first = proc.stderr.splitlines()[0]
        assert first.startswith(f"{name}.yaml:"), first
        if name != "empty":
            location = first.split(": error: ")[0]
            assert location.count(":") == 2, first
            assert proc.stderr.splitlines()[2].strip() == "^", proc.stderr
