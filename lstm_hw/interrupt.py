"""Ctrl-C and SIGTERM: stop all work at once, workers included, and say so in one line.

The command line calls :func:`install` first. A SIGINT (Ctrl-C) or SIGTERM then raises
:class:`Interrupted` (a KeyboardInterrupt) in the main thread, which unwinds normally: output
files being written are removed (``files.replace_file``), worker pools are terminated, and
``cli.main`` calls :func:`stop`: one line, exit 128 + the signal's number (130, 143).

Python runs signal handlers in the main thread only, between bytecodes, so a main thread inside
a long numba kernel or a blocking join would not see the signal until it returned. A watchdog
thread wakes at once instead (``signal.set_wakeup_fd``: the C-level handler writes the signal
into a pipe from whatever thread): if the process has not finished ``GRACE`` seconds after the
signal, or at a second signal, it kills the worker processes and ends the process itself.

Worker processes (forked) call :func:`worker_init`: they ignore SIGINT (the parent decides), die
on SIGTERM at once, even inside native code, and die with their parent if it is killed.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import select
import signal
import sys
import threading
import time

GRACE = 1.0      # seconds the main thread has to unwind before the process is ended
_PR_SET_PDEATHSIG = 1


class Interrupted(KeyboardInterrupt):
    """The work was stopped by a signal (``signum``)."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame):
    raise Interrupted(signum)


_installed = False


def install() -> None:
    """Turn SIGINT and SIGTERM into Interrupted, with the watchdog behind (main thread only;
    installing twice is harmless)."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    os.register_at_fork(after_in_child=_forget_in_child)
    threading.Thread(target=_watchdog, args=(read_fd,), name="lstm-hw-interrupt",
                     daemon=True).start()
    _installed = True


def _watchdog(read_fd: int) -> None:
    first = _wait_signal(read_fd, None)
    second = _wait_signal(read_fd, GRACE)     # None: the grace has passed
    _force_exit(second or first)


def _wait_signal(fd: int, timeout: float | None) -> int | None:
    """The next SIGINT or SIGTERM written to the wakeup pipe, or None after ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        readable, _, _ = select.select([fd], [], [], left)
        if not readable:
            return None
        data = os.read(fd, 1)
        if data and data[0] in (signal.SIGINT, signal.SIGTERM):
            return data[0]


def _force_exit(signum: int) -> None:
    """The main thread did not unwind in time: kill the workers and end the process."""
    kill_workers()
    try:
        os.write(2, f"\nlstm-hw: {describe(signum)}: stopped\n".encode())
    finally:
        os._exit(128 + signum)


def kill_workers() -> None:
    """SIGKILL every child process this process started through multiprocessing."""
    for child in multiprocessing.active_children():
        try:
            child.kill()
        except (OSError, ValueError):
            pass


def describe(signum: int) -> str:
    return "interrupted (Ctrl-C)" if signum == signal.SIGINT else \
        f"terminated ({signal.Signals(signum).name})"


def interruption(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt behind ``exc`` (itself, or its cause or context: a signal that
    arrives in a C callback, such as numba's unpickling, comes out as a SystemError)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def stop(exc: KeyboardInterrupt) -> None:
    """The work is unwound (outputs removed, pools terminated): print the one line and end the
    process with 128 + the signal, without the interpreter's slow shutdown (thread joins,
    numba's and LLVM's teardown)."""
    signum = getattr(exc, "signum", signal.SIGINT)
    kill_workers()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    try:
        print(f"lstm-hw: {describe(signum)}: stopped", file=sys.stderr, flush=True)
    finally:
        os._exit(128 + signum)


def _forget_in_child() -> None:
    """A forked child has the parent's handlers and wakeup pipe: a signal to the child would
    reach the parent's watchdog. Back to the defaults (the forking thread is the child's main
    thread)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def worker_pool(ctx, workers: int):
    """A multiprocessing Pool of ``workers`` processes whose workers are forked with the stop
    signals blocked, so that each has its own handlers (worker_init) before it can see one."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return ctx.Pool(workers, initializer=worker_init)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def worker_init() -> None:
    """In a forked worker process: SIGINT ignored (the parent stops the work), SIGTERM the
    default (instant death, even in native code), no wakeup pipe of the parent's, and death
    when the parent dies (Linux)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)   # blocked by the parent's fork
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
        if os.getppid() == 1:       # the parent died before prctl took effect
            os._exit(1)
