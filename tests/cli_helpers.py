"""Running the real `lstm-hw` console script from the end-to-end tests."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def console_script() -> str:
    """The installed ``lstm-hw`` next to this Python (else on PATH)."""
    here = Path(sys.executable).parent / "lstm-hw"
    found = str(here) if here.exists() else shutil.which("lstm-hw")
    if found is None:
        pytest.fail("the lstm-hw console script is not installed (pip install -e .)")
    return found


def run_cli(*args, cwd=None, timeout: int = 600,
            input: str | None = None) -> subprocess.CompletedProcess:
    """`lstm-hw ARGS` (``input``: its stdin); a user never sees a traceback, whatever the
    outcome."""
    proc = subprocess.run([console_script(), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc
