"""Run every benchmark and print its figures."""
import platform

import numba
import numpy as np

from . import bench_cell, bench_timing

print(f"machine: {platform.machine()}, {platform.processor() or '?'}; python "
      f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}")
bench_cell.run()
bench_timing.run()
