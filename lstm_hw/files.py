"""Output files: the one place every subcommand writes through.

- ``-`` is stdout.
- A regular file (or a new one) is written to a temporary file beside it and renamed into place
  on success, so a failed or interrupted run leaves the old file, or none, never half of one. A
  new file gets the mode a plain ``open()`` would give it (0666 less the umask); an existing one
  keeps its mode (and its owner, where we may set it).
- A symlink keeps being a link: its target is replaced the same way (the promise of a whole
  file holds for the target; writing through would leave it half-written on a failure).
- A device or FIFO (``/dev/null``, a named pipe) is written through: it cannot be replaced, and
  renaming a file over it would destroy it.

``check_outputs`` runs before the work: it refuses an output that cannot be written (missing
folder, a directory, a read-only file, a folder that is a file) and an output that is the same
file as an input of the command (symlinks and hard links included) or as another output.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from contextlib import contextmanager

from .diagnostics import UserError

STDOUT = "-"


class OutputError(UserError):
    """An output that cannot be written, or must not be (it is an input)."""


def _identity(path: str) -> tuple | None:
    """(device, inode) of an existing file (following links), else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def check_outputs(outputs: dict[str, str | None], inputs: dict[str, str | None] | None = None
                  ) -> None:
    """Refuse, before any work, outputs that cannot be written or that would overwrite an input.

    ``outputs`` and ``inputs`` map what names a file for the user (an option such as ``-o``, or
    ``the netlist``) to its path; None: not given. Inputs that are ``-`` (stdin) are skipped.
    """
    given = [(what, path) for what, path in outputs.items() if path]
    to_stdout = [what for what, path in given if path == STDOUT]
    if len(to_stdout) > 1:
        raise OutputError(f"error: {' and '.join(to_stdout)} both write to stdout ('-'): give "
                          "one of them a file")
    sources = [(what, path, _identity(path)) for what, path in (inputs or {}).items()
               if path and path != STDOUT]
    written: list[tuple[str, str, object]] = []
    for what, path in given:
        if path == STDOUT:
            continue
        check_writable(path, what)
        ident = _identity(path)
        if ident is not None and _is_regular(path):   # devices: written through, not replaced
            for in_what, in_path, in_ident in sources:
                if ident == in_ident:
                    raise OutputError(f"{path}: error: the output ({what}) is the same file as "
                                      f"{in_what} '{in_path}': refusing to overwrite it")
        key = ident if ident is not None else os.path.realpath(path)
        for other_what, other_path, other_key in written:
            if key == other_key and (ident is None or _is_regular(path)):
                raise OutputError(f"{path}: error: {what} and {other_what} ('{other_path}') are "
                                  "the same file: give them different names")
        written.append((what, path, key))


def check_writable(path: str, what: str = "output") -> None:
    """The reason ``path`` cannot be written, as an OutputError (nothing if it can be)."""
    def refuse(reason: str):
        raise OutputError(f"{path}: error: cannot write {what}: {reason}")

    if path == "":
        refuse("the file name is empty")
    try:
        os.stat(path)
        exists = True
    except FileNotFoundError:
        exists = False
    except NotADirectoryError:
        exists = False   # reported below, at its folder
    except OSError as exc:   # a symlink loop, a name too long, ...
        refuse(exc.strerror or str(exc))
    target = os.path.realpath(path)
    if exists:
        mode = os.stat(target).st_mode
        if stat.S_ISDIR(mode):
            refuse("it is a directory")
        if not stat.S_ISREG(mode):        # a device or FIFO: written through
            if not os.access(target, os.W_OK):
                refuse("permission denied")
            return
        # root may write anything: a file nobody may write is read-only on purpose
        if not mode & 0o222 or not os.access(target, os.W_OK):
            refuse("the file is read-only")
    folder = os.path.dirname(target) or "."
    if not os.path.exists(folder):
        refuse(f"the folder '{_shown_folder(path)}' does not exist")
    if not os.path.isdir(folder):
        refuse(f"'{_shown_folder(path)}' is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        refuse(f"cannot create files in the folder '{_shown_folder(path)}' (permission denied)")


def _shown_folder(path: str) -> str:
    """The folder part of the path as the user wrote it (through no links), for messages."""
    return os.path.dirname(path) or "."


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def replace_file(path: str, binary: bool = False):
    """A file object whose content replaces ``path`` (see the module's docstring) when the
    block ends without an exception. Raises OSError; ``open_output`` is the user-facing form."""
    target = os.path.realpath(path)    # a symlink: its target is what gets replaced
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with (open(target, "wb") if binary else
              open(target, "w", newline="", encoding="utf-8")) as fh:
            yield fh
        return
    folder = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=folder)
    try:
        with (os.fdopen(fd, "wb") if binary else
              os.fdopen(fd, "w", newline="", encoding="utf-8")) as fh:
            yield fh
        if st is None:
            os.chmod(tmp, 0o666 & ~_umask())
        else:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:     # not ours to give away: the file becomes ours, as cp's would
                pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def open_output(path: str, binary: bool = False, stdout=None):
    """A file object for the output ``path``: stdout for ``-``, else ``replace_file``. A
    failure to write is an OutputError naming the file (exit 2, no traceback)."""
    if path == STDOUT:
        stream = stdout or sys.stdout
        if binary:
            stream.flush()
            yield stream.buffer
            stream.buffer.flush()
        else:
            yield stream
            stream.flush()
        return
    try:
        with replace_file(path, binary) as fh:
            yield fh
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{path}: error: cannot write: {exc.strerror or exc}") from None


def write_output(path: str, data: str | bytes, stdout=None) -> None:
    """Write ``data`` whole to the output ``path`` (``-``: stdout)."""
    with open_output(path, isinstance(data, bytes), stdout) as fh:
        fh.write(data)


def netlist_files(circuit) -> dict[str, str]:
    """The files a circuit was read from (the netlist, its imports, its weight files), named
    for ``check_outputs``."""
    named = {"the netlist": circuit.path}
    for path in circuit.files[1:]:
        named[f"the netlist's file '{os.path.basename(path)}'"] = path
    return named


__all__ = ["OutputError", "STDOUT", "check_outputs", "check_writable", "netlist_files",
           "open_output", "replace_file", "write_output"]
