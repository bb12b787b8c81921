"""``lstm-hw sweep``: evaluate a grid of quantisation settings, locally or on a Dask cluster.

Settings are independent, so they run in parallel: on ``workers`` local processes
(concurrent.futures, both cores by default) or, with ``scheduler``, on the workers of a
dask.distributed cluster. Either way each task is a chunk of settings evaluated by
``evaluate.evaluate_chunk`` (each setting one engine call over all its sequences), and the
results come back in grid order, identical wherever they ran: the same code on the same inputs,
with no clock or process id in them.

Ranking: ``SettingResult.error`` (task: the fraction of steps wrong; else the worst output RMSE)
then cost. The Pareto front is the set of settings that no other setting beats on both: no
other is at most as costly and at most as wrong, and better on one of the two.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from .. import interrupt, limits
from ..diagnostics import UserError
from ..progress import Progress
from ..sim.simulator import select_signals
from .evaluate import EvalConfig, SettingResult, Skipped, elaborate_setting, evaluate, \
    evaluate_chunk, has_task
from .grid import Expansion, Grid, Setting, SweepError, check_patterns, expand


ANNOUNCE_SECONDS = 10       # a sweep expected to take longer says its size and estimate first
WORKERS_PER_CORE = 4


@dataclass
class SweepResult:
    config: EvalConfig
    grid: Grid
    results: list[SettingResult]            # grid order (index)
    skipped: Counter                        # reason -> count (invalid formats, no elaboration)
    baseline: SettingResult                 # the netlist's own precision (with --precision)
    task: bool                              # scored by the memory task (else by the error)
    seconds: float = 0.0
    workers: str = ""
    notes: list[str] = field(default_factory=list)

    def ranked(self) -> list[SettingResult]:
        """Best first: lowest error, then lowest cost, then grid order."""
        return sorted(self.results, key=lambda r: (r.error, r.cost["total"], r.index))

    @property
    def front(self) -> list[SettingResult]:
        return [r for r in self.ranked() if r.pareto]


def mark_pareto(results: list[SettingResult]) -> None:
    """Set ``pareto`` on the results no other result dominates (cost and error, both lower
    is better)."""
    order = sorted(results, key=lambda r: (r.cost["total"], r.error, r.index))
    best = None     # the lowest error among the cheaper ones so far
    k = 0
    while k < len(order):
        j = k       # settings of equal cost and error: all on the front or none
        while j < len(order) and (order[j].cost["total"], order[j].error) == \
                (order[k].cost["total"], order[k].error):
            j += 1
        on_front = best is None or order[k].error < best
        for r in order[k:j]:
            r.pareto = on_front
        if best is None or order[k].error < best:
            best = order[k].error
        k = j


def _chunks(items: list, n_parts: int) -> list[list]:
    """Consecutive chunks, several per worker (balance without much per-task overhead)."""
    size = max(1, min(16, -(-len(items) // max(n_parts, 1))))
    return [items[k:k + size] for k in range(0, len(items), size)]


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else (os.cpu_count() or 1))


def run_settings(config: EvalConfig, settings: list[Setting], workers: int | None = None,
                 scheduler: str | None = None, progress: Progress | None = None) -> list:
    """Evaluate settings (grid order kept): SettingResult or Skipped for each."""
    items = list(enumerate(settings))
    progress = progress or Progress(len(items), "settings", enabled=False)
    if scheduler:
        out = _run_dask(config, items, scheduler, progress)
    else:
        workers = default_workers() if workers is None else workers
        if workers <= 1 or len(items) <= 1:
            out = []
            for index, setting in items:
                out.append(evaluate(config, setting, index))
                progress.update()
        else:
            out = _run_pool(config, items, workers, progress)
    progress.close()
    return sorted(out, key=lambda r: r.index)


def _run_pool(config, items, workers, progress) -> list:
    # fork: the children start with the parent's modules and compiled kernel (no re-import)
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    chunks = _chunks(items, workers * 4)
    out = []
    pool = interrupt.worker_pool(ctx, workers)
    try:
        for done in pool.imap_unordered(_evaluate_chunk, [(config, c) for c in chunks]):
            out += done
            progress.update(len(done))
        pool.close()
    except BaseException:
        interrupt.kill_workers()     # at once, whatever they are doing
        raise
    finally:
        pool.terminate()     # on Ctrl-C, an error or the end: no worker outlives the sweep
        pool.join()
    return out


def _evaluate_chunk(task):
    return evaluate_chunk(*task)


def _run_dask(config, items, address, progress) -> list:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UserError("--scheduler needs dask.distributed: pip install 'lstm_hw[dask]'") \
            from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise UserError(f"--scheduler {address}: cannot connect to the Dask scheduler: {exc}") \
            from None
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        chunks = _chunks(items, n_workers * 4)
        futures = client.map(evaluate_chunk, [config] * len(chunks), chunks, pure=False)
        sizes = {f.key: len(c) for f, c in zip(futures, chunks)}
        out = []
        for f in as_completed(futures):
            out += f.result()
            progress.update(sizes[f.key])
        return out
    finally:
        client.close()


def run_sweep(grid: Grid, config: EvalConfig, workers: int | None = None,
              scheduler: str | None = None, progress: bool | None = None,
              max_settings: int | None = None) -> SweepResult:
    """Expand the grid, evaluate every valid setting, rank them and mark the Pareto front.

    More settings than ``max_settings`` (default: the ``settings`` limit) are refused with
    their count and a time estimate; the count and estimate are printed on stderr before a
    sweep that will take a while."""
    base = elaborate_setting(config)          # a bad netlist or --precision: exit 2 here
    check_patterns(grid, list(base.by_name))
    try:
        select_signals(base, list(config.signals))
    except KeyError as exc:
        raise SweepError(f"--signals: {exc.args[0]}") from None
    expansion: Expansion = expand(grid)
    if not expansion.settings:
        reasons = "; ".join(f"{n} x {r}" for r, n in expansion.skipped.items())
        raise UserError(f"no valid setting in the sweep ({reasons})")
    n = len(expansion.settings)
    if not scheduler:
        workers = local_workers(workers, n)
    start = time.perf_counter()
    baseline = evaluate(config, Setting("netlist's own precision", ()), -1)
    estimate = (time.perf_counter() - start) * n / (workers or 1)
    where = f"on the Dask scheduler {scheduler}" if scheduler else f"on {workers} worker(s)"
    count = (f"{n:,} settings" + (f" ({expansion.n_skipped:,} grid points skipped)"
                                   if expansion.n_skipped else "")
             + f", about {_duration(estimate)} {where}")
    limit = limits.get("settings") if max_settings is None else max_settings
    if n > limit:
        raise UserError(f"the sweep has {count}: more than {limit:,} settings; pass --yes to "
                        f"run them all (or --max-settings N), or narrow the grid")
    if estimate >= ANNOUNCE_SECONDS:
        print(f"sweep: {count}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    bar = Progress(n, "settings", "sweep", enabled=progress)
    evaluated = run_settings(config, expansion.settings, workers, scheduler, bar)
    seconds = time.perf_counter() - start
    skipped = Counter(expansion.skipped)
    results, notes = [], []
    for r in evaluated:
        if isinstance(r, Skipped):
            skipped[f"does not elaborate: {r.message}"] += 1
        else:
            results.append(r)
    if not results:
        raise UserError("no setting of the sweep elaborates; the first error:\n"
                        + next(r.message for r in evaluated if isinstance(r, Skipped)))
    mark_pareto(results)
    used = f"Dask scheduler {scheduler}" if scheduler else f"{workers} local worker(s)"
    return SweepResult(config, grid, results, skipped, baseline, has_task(base), seconds, used,
                       notes)


def local_workers(asked: int | None, n_settings: int) -> int:
    """Worker processes for ``n_settings``: one per core by default; never more than the
    settings, nor than WORKERS_PER_CORE per core (a warning says so above the core count)."""
    cores = default_workers()
    if asked is None:
        return max(1, min(cores, n_settings))
    most = cores * WORKERS_PER_CORE
    if asked > cores:
        used = min(asked, most, n_settings)
        print(f"warning: --workers {asked} is more than the {cores} core(s) here: the settings "
              f"run no faster; using {used}", file=sys.stderr)
    return max(1, min(asked, most, n_settings))


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
