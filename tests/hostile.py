"""The harness of the hostile-input suite (tests/test_hostile_*.py).

A case runs the real ``lstm-hw`` console script in a fresh folder under a memory limit and a
time limit (a hang or a runaway allocation fails the case, it does not stall the suite), then
asserts: the exit status, the first line of the message (stderr), no traceback anywhere, and that
no file in the folder was changed, removed or left behind half-written (a case names the outputs
it expects to create).

    CASES = [
        Case("csv_nan", ["run", "{netlists}/memory_cell.yaml", "-i", "in.csv"],
             files={"in.csv": "x1,x2,x3\\nnan,0,0\\n"}, status=2,
             first=r"in\\.csv:2:1: error: .*NaN"),
    ]
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_hostile(case, tmp_path):
        run_case(case, tmp_path)

``{netlists}`` and ``{repo}`` in arguments and file texts stand for the shipped netlists' folder
and the repository; ``files`` maps a relative path to its text (str) or bytes, or to a callable
``f(path)`` that makes it (symlinks, FIFOs, big files).
"""
from __future__ import annotations

import hashlib
import os
import re
import resource
import signal
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cli_helpers import console_script

REPO = Path(__file__).resolve().parent.parent
NETLISTS = REPO / "netlists"
MEMORY_LIMIT = 4 << 30      # address space; numba and LLVM need about 1.5 GiB of it
TIME_LIMIT = 60             # seconds of wall time


@dataclass
class Case:
    name: str
    args: list[str]
    status: int = 2
    first: str = r".*error: "               # regex matched against stderr's first line
    files: dict[str, str | bytes | Callable[[Path], None]] = field(default_factory=dict)
    creates: tuple[str, ...] = ()           # outputs the command may write (relative paths)
    stdin: str | bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    time_limit: float = TIME_LIMIT
    memory_limit: int = MEMORY_LIMIT


def _expand(text: str) -> str:
    return text.replace("{netlists}", str(NETLISTS)).replace("{repo}", str(REPO))


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder``: its kind, mode and content hash (or link target)."""
    out = {}
    for root, dirs, names in os.walk(folder, followlinks=False):
        for name in dirs + names:
            p = Path(root, name)
            st = p.lstat()
            key = str(p.relative_to(folder))
            if stat.S_ISLNK(st.st_mode):
                out[key] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[key] = ("file", stat.S_IMODE(st.st_mode),
                            hashlib.sha256(p.read_bytes()).hexdigest())
            else:
                out[key] = ("other", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


def _limits(memory: int) -> Callable[[], None]:
    def apply() -> None:
        os.setsid()     # its own process group: a timeout kills workers too
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    return apply


def run_case(case: Case, folder: Path) -> subprocess.CompletedProcess:
    """Run one case in ``folder`` (empty, e.g. tmp_path) and assert everything it promises."""
    for rel, content in case.files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(p)
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(_expand(content))
    before = snapshot(folder)
    stdin = case.stdin.encode() if isinstance(case.stdin, str) else case.stdin
    env = {**os.environ, **case.env}
    proc = subprocess.Popen([console_script(), *map(_expand, case.args)], cwd=folder,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            preexec_fn=_limits(case.memory_limit))
    try:
        out, err = proc.communicate(stdin, timeout=case.time_limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"{case.name}: still running after {case.time_limit} s") from None
    out_s, err_s = out.decode(errors="replace"), err.decode(errors="replace")
    shown = f"\nexit {proc.returncode}\nstdout: {out_s[-2000:]}\nstderr: {err_s[-2000:]}"
    assert "Traceback" not in out_s + err_s, case.name + shown
    assert proc.returncode == case.status, case.name + shown
    # the message's first line: an engine's first-compile announcement (progress, cold caches
    # only) is not the message
    first = next((line for line in err_s.splitlines()
                  if line.strip() and not line.startswith("compiling the ")), "")
    assert re.match(_expand(case.first), first), f"{case.name}: first line {first!r}" + shown
    after = snapshot(folder)
    for key in set(before) | set(after):
        if key in case.creates:
            continue
        assert before.get(key) == after.get(key), \
            f"{case.name}: {key} changed: {before.get(key)} -> {after.get(key)}" + shown
    return subprocess.CompletedProcess(proc.args, proc.returncode, out_s, err_s)
