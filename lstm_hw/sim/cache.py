"""Compiled-code caches that are corrupted or cannot be used: detected, rebuilt, said.

Two caches hold compiled code: numba's (``*.nbi``/``*.nbc`` next to lstm_hw's own modules or
under ``NUMBA_CACHE_DIR``, and next to each generated module) and lstm_hw's folder of generated
modules (``codegen.cache_dir()``). A truncated or corrupted numba cache file makes the first
call of a function fail inside numba's cache loader: :func:`recovering` removes that
function's cache files (numba then compiles afresh and writes them again), says so on stderr
and calls again. The Simulator recovers around its kernels (a run may have written output by
then), the command line around a whole command (for the quantisers first called while
elaborating). An unusable cache folder (not a folder, not writable) is the Simulator's
business: it falls back to the interpreter with a warning.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..interrupt import interruption


MAX_REPAIRS = 64     # each damaged function's files are found when it is first called


def damaged_files(exc: BaseException) -> list[Path]:
    """The cache files numba was reading when ``exc`` was raised (its index and data files),
    or [] if it was not raised reading a numba cache (or was a Ctrl-C arriving there)."""
    if interruption(exc) is not None:
        return []
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        index = getattr(frame.f_locals.get("self"), "_index_path", None)
        if index and "numba/core/caching" in frame.f_code.co_filename.replace("\\", "/"):
            index = Path(index)
            return [index, *index.parent.glob(f"{index.stem}.*.nbc")]
        tb = tb.tb_next
    return []


def recovering(call):
    """``call()``; when it fails reading a numba cache file, that function's cache files are
    removed (said on stderr) and it is called again."""
    for _ in range(MAX_REPAIRS):
        try:
            return call()
        except Exception as exc:
            files = damaged_files(exc)
            if not files:
                raise
            for path in files:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
            print(f"warning: the compiled-code cache {files[0]} could not be read "
                  f"({type(exc).__name__}: {exc}): removed, compiling afresh", file=sys.stderr)
    return call()
