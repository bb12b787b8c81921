"""Ctrl-C and SIGTERM stop all work at once: the command exits within 2 s with 130 (143 for
SIGTERM) and one line on stderr, no worker process survives it and no output file (whole or
partial) is left. The real console script runs in its own session (process group), so every
process it started, orphaned or not, is found by its group in /proc."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import console_script

NETLISTS = Path(__file__).resolve().parent.parent / "netlists"


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()     # after 'pid (comm) '
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def start(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([console_script(), *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def stop_and_check(proc: subprocess.Popen, signum: int, to_group: bool, status: int,
                   limit: float = 2.0) -> str:
    """Send the signal, then assert the exit within ``limit`` seconds, the status, one line
    saying so (after what the command printed before) and no traceback, and an empty process
    group afterwards; returns stderr."""
    sent = time.monotonic()
    (os.killpg if to_group else os.kill)(proc.pid, signum)
    try:
        out, err = proc.communicate(timeout=limit + 10)
    finally:
        if proc.poll() is None or group_members(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    took = time.monotonic() - sent
    err = err.decode(errors="replace")
    assert took <= limit, f"exit {took:.2f} s after the signal\n{err}"
    assert proc.returncode == status, err
    assert "Traceback" not in err + out.decode(errors="replace"), err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("\r")]
    assert lines and lines[-1].startswith("lstm-hw: "), err      # the one line, last
    assert sum(line.startswith("lstm-hw: ") for line in lines) == 1, err
    assert wait_for(lambda: not group_members(proc.pid), 0.5), \
        f"processes left: {group_members(proc.pid)}"
    return err


SWEEP_1500 = ["sweep", NETLISTS / "memory_cell.yaml", "--vary",
              "*=ap_fixed<{W},{I},AP_RND,AP_SAT>", "--grid", "W=3..32", "I=1..50",
              "--workers", "2", "--csv", "out.csv", "--json", "out.json"]


@pytest.mark.parametrize("signum,to_group,status", [
    (signal.SIGINT, True, 130),      # Ctrl-C in a terminal: the whole foreground group
    (signal.SIGINT, False, 130),     # kill -INT of the command alone
    (signal.SIGTERM, False, 143),    # kill: workers must not be orphaned at 100% CPU
], ids=["ctrl_c", "sigint", "sigterm"])
def test_ctrl_c_stops_sweep_and_its_workers(tmp_path, signum, to_group, status):
    """Acceptance 3: a 1,500-setting sweep on 2 workers with output files."""
    proc = start(SWEEP_1500, tmp_path)
    assert wait_for(lambda: len(group_members(proc.pid)) >= 3 or proc.poll() is not None,
                    60), "the workers did not start"
    assert proc.poll() is None, proc.communicate()
    time.sleep(1.0)     # the workers busy with their settings
    err = stop_and_check(proc, signum, to_group, status)
    assert ("interrupted" if signum == signal.SIGINT else "terminated") in err
    assert list(tmp_path.iterdir()) == []       # no output, no temporary file


def test_ctrl_c_during_a_run_leaves_no_output(tmp_path):
    """A long run writing its output as it goes: stopped, the partial output removed."""
    steps = 2_000_000
    with open(tmp_path / "in.csv", "w") as fh:
        fh.write("x1,x2,x3\n")
        fh.write("0.5,1,1\n" * steps)
    proc = start(["run", NETLISTS / "memory_cell.yaml", "-i", "in.csv", "-o", "out.csv"],
                 tmp_path)
    assert wait_for(lambda: any(p.name != "in.csv" for p in tmp_path.iterdir())
                    or proc.poll() is not None, 60), "no output started"
    assert proc.poll() is None, proc.communicate()
    stop_and_check(proc, signal.SIGINT, True, 130)
    assert [p.name for p in tmp_path.iterdir()] == ["in.csv"]


def test_a_signal_to_a_new_worker_does_not_stop_the_parent():
    """Pools terminated as soon as they are made: a worker's SIGTERM must not reach the
    parent's watchdog (it once ended the parent, exit 143, a second later)."""
    code = ("import multiprocessing, time\n"
            "from lstm_hw import interrupt\n"
            "interrupt.install()\n"
            "ctx = multiprocessing.get_context('fork')\n"
            "for _ in range(30):\n"
            "    pool = interrupt.worker_pool(ctx, 2)\n"
            "    pool.terminate()\n"
            "    pool.join()\n"
            "time.sleep(interrupt.GRACE + 1)\n"
            "print('survived')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert (proc.returncode, proc.stdout.strip()) == (0, "survived"), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
