"""Reading an .npz file of arrays (numpy.savez) without trusting it.

``np.load`` inflates whatever a member claims: a 3 MB zip of zeros can expand to gigabytes.
Here each member's uncompressed size in the zip directory and each array's own header (dtype,
shape) are checked against a byte limit before its data is read, and no more data is read than
the header says.
"""
from __future__ import annotations

import math
import zipfile
import zlib

import numpy as np

from .limits import format_bytes

NOT_NPZ = "not a NumPy .npz file (numpy.savez) of numeric arrays"


def read_npz(path, max_bytes: int) -> dict[str, np.ndarray]:
    """Every array of the .npz at ``path`` (float or integer), at most ``max_bytes`` in all.
    Raises OSError when it cannot be read, ValueError (the reason) when it is not such a file
    or is too big."""
    try:
        with zipfile.ZipFile(path) as z:
            arrays, total = {}, 0
            for member in z.infolist():
                name = member.filename.removesuffix(".npy")
                total += member.file_size
                if total > max_bytes:
                    raise ValueError(f"array '{name}' unpacks to {format_bytes(total)}, more "
                                     f"than the limit of {format_bytes(max_bytes)}")
                with z.open(member) as fh:
                    arrays[name] = _read_npy(fh, name, max_bytes)
            return arrays
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{NOT_NPZ} ({exc})") from None


def _read_npy(fh, name: str, max_bytes: int) -> np.ndarray:
    version = np.lib.format.read_magic(fh)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise ValueError(f"{NOT_NPZ} (array '{name}': .npy format version {version})")
    shape, fortran, dtype = read_header(fh)
    if dtype.hasobject or dtype.kind not in "iuf":
        raise ValueError(f"array '{name}' is not numeric (dtype {dtype})")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise ValueError(f"array '{name}' of shape {list(shape)} would take "
                         f"{format_bytes(nbytes)}, more than the limit of "
                         f"{format_bytes(max_bytes)}")
    data = fh.read(nbytes)
    if len(data) != nbytes:
        raise ValueError(f"array '{name}' is truncated ({len(data)} of {nbytes} bytes)")
    return np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").copy()
