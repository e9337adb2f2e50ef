"""Run every benchmark workload on knoll and on Dagster, and report medians and ratios.

Each measurement comes from a fresh subprocess of the right virtual environment (so imports
are cold), repeated; the median is reported. knoll and Dagster repetitions are interleaved so
that drift on the machine hits both alike. Usage (``bench/run`` passes its arguments here)::

    python bench/harness.py [--quick] [--only NAME ...] [--dagster-python PATH]

The table goes to stdout, progress to stderr, and everything to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results" / "latest.json"
SYSTEMS = ("knoll", "dagster")
TIMEOUT_S = 900
DAGSTER_START_METHODS = ("spawn", "forkserver")  # processes: Dagster's default, then the other
# processes: the knoll start method each Dagster one is compared with (knoll's default on Linux
# is fork; forkserver is its fallback where fork is unsafe)
KNOLL_START_METHODS = {"spawn": "fork", "forkserver": "forkserver"}


@dataclass(frozen=True)
class Settings:
    """Sizes and repetition counts; ``--quick`` swaps in the small set."""

    quick: bool
    import_reps: int
    reps: int
    big_reps: int  # for the 10,000-asset definitions case, which takes Dagster ~20 s a run
    definitions_sizes: tuple[int, ...]
    materialize_sizes: tuple[int, ...]
    memory_size: int
    floor_size: int
    persist_size: int  # storage: assets materialized into a persisted SQLite instance
    latest_size: int  # storage: assets whose latest materialization is read
    partitions_size: int  # storage: partitions of the one asset whose status is read
    processes_sizes: tuple[int, ...]  # processes: steps of the fan-outs run in worker processes
    daemon_tick_reps: int  # daemon_tick: samples per system (each waits for a minute boundary)
    daemon_memory_reps: int  # daemon_memory: samples per system (each runs a daemon ~60 s)
    daemon_memory_size: int  # daemon_memory: schedules, and as many sensors, in the location


FULL = Settings(
    quick=False,
    import_reps=10,
    reps=5,
    big_reps=3,
    definitions_sizes=(100, 1_000, 10_000),
    materialize_sizes=(10, 100, 1_000),
    memory_size=1_000,
    floor_size=1_000,
    persist_size=200,
    latest_size=10_000,
    partitions_size=100_000,
    processes_sizes=(8, 32),
    daemon_tick_reps=2,
    daemon_memory_reps=2,
    daemon_memory_size=1_000,
)
QUICK = Settings(
    quick=True,
    import_reps=5,
    reps=3,
    big_reps=1,
    definitions_sizes=(100, 1_000),
    materialize_sizes=(10, 100),
    memory_size=100,
    floor_size=100,
    persist_size=50,
    latest_size=1_000,
    partitions_size=10_000,
    processes_sizes=(8,),
    daemon_tick_reps=1,
    daemon_memory_reps=1,
    daemon_memory_size=100,
)


@dataclass(frozen=True)
class Target:
    """A knoll target: ``value <= limit`` for times and sizes, ``value >= limit`` for rates
    (``at_least``)."""

    limit: float
    unit: str
    at_least: bool = False

    def describe(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.limit:g} {self.unit}"

    def met_by(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


@dataclass
class Row:
    """One line of the report: a metric measured on both systems."""

    workload: str
    case: str
    unit: str
    knoll: float | None
    dagster: float | None
    target: Target | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""
    higher_is_better: bool = False  # a rate (events/s): the ratio is then knoll/dagster

    @property
    def ratio(self) -> float | None:
        """dagster/knoll, or knoll/dagster for a rate: above 1 when knoll does better."""
        better, worse = (
            (self.knoll, self.dagster) if self.higher_is_better else (self.dagster, self.knoll)
        )
        if better is None or worse is None or worse <= 0:
            return None
        return better / worse

    @property
    def met(self) -> bool | None:
        if self.target is None or self.knoll is None:
            return None
        return self.target.met_by(self.knoll)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.describe() if self.target else None
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data


class WorkloadFailed(Exception):
    """A workload subprocess exited with an error or printed no measurements."""


class Runner:
    """Starts workload subprocesses in the right venv and collects their JSON lines."""

    def __init__(self, pythons: dict[str, str]) -> None:
        self.pythons = pythons
        self.env = dict(os.environ)
        # The repo root makes `bench` importable in both venvs; nothing else is added.
        self.env["PYTHONPATH"] = str(ROOT)
        # Without cached bytecode every import would compile the source: measure real imports.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        # Keep any Dagster instance state out of the user's home; removed when the run ends.
        self._home = tempfile.TemporaryDirectory(prefix="knoll-bench-dagster-home-")
        self.env["DAGSTER_HOME"] = self._home.name

    def run(self, python: str, module: str, *args: str) -> dict[str, float]:
        with tempfile.TemporaryFile(mode="w+") as stderr:
            completed = subprocess.run(
                [python, "-m", module, *args],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
            if completed.returncode != 0:
                stderr.seek(0)
                tail = stderr.read()[-3000:]
                raise WorkloadFailed(
                    f"{module} {' '.join(args)} exited with {completed.returncode}:\n{tail}"
                )
        lines = completed.stdout.strip().splitlines()
        if not lines:
            raise WorkloadFailed(f"{module} {' '.join(args)} printed no measurements")
        parsed: dict[str, float] = json.loads(lines[-1])
        return parsed

    def wall(self, python: str, code: str) -> float:
        """Wall time of ``python -c code`` in a fresh process, interpreter start-up included."""
        start = time.perf_counter()
        subprocess.run(
            [python, "-c", code],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT_S,
            check=True,
        )
        return time.perf_counter() - start

    def repeat(
        self, label: str, reps: int, measure: Callable[[str], dict[str, float]]
    ) -> dict[str, list[dict[str, float]]]:
        """``measure(system)`` ``reps`` times per system, interleaved; failures are reported."""
        samples: dict[str, list[dict[str, float]]] = {s: [] for s in SYSTEMS}
        failed: set[str] = set()
        for rep in range(reps):
            for system in SYSTEMS:
                if system in failed:
                    continue
                start = time.perf_counter()
                try:
                    samples[system].append(measure(system))
                except (WorkloadFailed, subprocess.SubprocessError) as exc:
                    # A system that fails once is left out of this case: half a median misleads.
                    progress(f"  {label} [{system}] FAILED: {exc}")
                    samples[system] = []
                    failed.add(system)
                    continue
                progress(
                    f"  {label} [{system}] {rep + 1}/{reps} "
                    f"({time.perf_counter() - start:.1f} s wall)"
                )
        return samples


def progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def median_of(samples: list[dict[str, float]], key: str) -> tuple[float | None, list[float]]:
    values = [s[key] for s in samples if key in s]
    return (statistics.median(values) if values else None), values


def row(  # noqa: PLR0913 (one keyword per field of a report row)
    workload: str,
    case: str,
    unit: str,
    samples: dict[str, list[dict[str, float]]],
    key: str,
    *,
    scale: float = 1.0,
    target: Target | None = None,
    note: str = "",
    higher_is_better: bool = False,
) -> Row:
    """A report row for metric ``key`` of both systems' samples (multiplied by ``scale``)."""
    knoll, knoll_values = median_of(samples["knoll"], key)
    dagster, dagster_values = median_of(samples["dagster"], key)
    return Row(
        workload=workload,
        case=case,
        unit=unit,
        knoll=None if knoll is None else knoll * scale,
        dagster=None if dagster is None else dagster * scale,
        target=target,
        samples={"knoll": knoll_values, "dagster": dagster_values},
        note=note,
        higher_is_better=higher_is_better,
    )


# ---- workloads ---------------------------------------------------------------------------


class Bench:
    """The six workloads; each returns its report rows."""

    def __init__(self, runner: Runner, settings: Settings) -> None:
        self.runner = runner
        self.settings = settings
        self._materialized: dict[int, dict[str, list[dict[str, float]]]] = {}
        self._built: dict[tuple[str, str], dict[str, float]] = {}

    def _script(self, system: str, name: str, *args: str) -> dict[str, float]:
        return self.runner.run(
            self.runner.pythons[system], f"bench.workloads.{system}_{name}", *args
        )

    def _sized(self, name: str, size: int) -> Callable[[str], dict[str, float]]:
        """A measurement: workload ``name`` on a DAG of ``size`` assets, for a given system."""

        def measure(system: str) -> dict[str, float]:
            return self._script(system, name, str(size))

        return measure

    def warm_up(self) -> None:
        """One untimed import per system, so that no measurement pays for writing .pyc files."""
        for system in SYSTEMS:
            self._script(system, "import")

    def import_(self) -> list[Row]:
        reps = self.settings.import_reps
        samples = self.runner.repeat("import", reps, lambda s: self._script(s, "import"))
        wall = self.runner.repeat(
            "python -c 'import X'",
            reps,
            lambda s: {"wall_s": self.runner.wall(self.runner.pythons[s], f"import {s}")},
        )
        return [
            row("import", "import statement", "s", samples, "import_s", target=Target(0.1, "s")),
            row(
                "import",
                "import + asset, Definitions",
                "s",
                samples,
                "declaring_import_s",
                note="the import statement, then the two names a module declaring assets uses",
            ),
            row(
                "import",
                "python -c 'import X' (wall)",
                "s",
                wall,
                "wall_s",
                note="the whole process: interpreter start-up, import and shutdown",
            ),
            row("import", "RSS after import + asset, Definitions", "MiB", samples, "maxrss_mib"),
        ]

    def definitions(self) -> list[Row]:
        rows: list[Row] = []
        biggest = max(self.settings.definitions_sizes)
        for size in self.settings.definitions_sizes:
            reps = self.settings.big_reps if size >= 10_000 else self.settings.reps
            samples = self.runner.repeat(
                f"definitions {size}",
                reps,
                self._sized("definitions", size),
            )
            target = Target(0.4, "s") if size == 10_000 else None
            rows += [
                row("definitions", f"{size} assets: @asset", "s", samples, "decorate_s"),
                row("definitions", f"{size} assets: Definitions", "s", samples, "definitions_s"),
                row("definitions", f"{size} assets: build", "s", samples, "build_s", target=target),
                row(
                    "definitions",
                    f"{size} assets: build, CPU time",
                    "s",
                    samples,
                    "build_cpu_s",
                    note="process time: what the build costs when other processes share the CPU",
                ),
                row("definitions", f"{size} assets: snapshot", "s", samples, "snapshot_s"),
                row(
                    "definitions",
                    f"{size} assets: build + snapshot",
                    "s",
                    samples,
                    "total_s",
                    target=target,
                ),
                row(
                    "definitions",
                    f"{size} assets: Definitions + snapshot (no @asset)",
                    "s",
                    samples,
                    "definitions_and_snapshot_s",
                ),
                row(
                    "definitions",
                    f"{size} assets: snapshot size",
                    "MB",
                    samples,
                    "snapshot_bytes",
                    scale=1e-6,
                ),
            ]
            if size == biggest:
                full, values = median_of(samples["dagster"], "full_snapshot_s")
                rows.append(
                    Row(
                        "definitions",
                        f"{size} assets: Dagster snapshot with job snapshots inlined",
                        "s",
                        None,
                        full,
                        samples={"dagster": values},
                        note="defer_snapshots=False, computed after the deferred one",
                    )
                )
        return rows

    def _materialize(self, size: int) -> dict[str, list[dict[str, float]]]:
        # memory and floor reuse the materialize runs of the same size when there are some.
        if size not in self._materialized:
            self._materialized[size] = self.runner.repeat(
                f"materialize {size}",
                self.settings.reps,
                self._sized("materialize", size),
            )
        return self._materialized[size]

    def materialize(self) -> list[Row]:
        rows: list[Row] = []
        for size in self.settings.materialize_sizes:
            samples = self._materialize(size)
            target = Target(0.25, "s") if size == 1_000 else None
            rows += [
                row(
                    "materialize",
                    f"{size} assets: first call",
                    "s",
                    samples,
                    "first_s",
                    target=target,
                ),
                row("materialize", f"{size} assets: second call", "s", samples, "warm_s"),
                row("materialize", f"{size} assets: events recorded", "", samples, "events"),
            ]
        return rows

    def memory(self) -> list[Row]:
        size = self.settings.memory_size
        samples = self._materialize(size)
        target = Target(80, "MiB") if size == 1_000 else None
        return [
            row(
                "memory",
                f"peak RSS, materializing {size} assets",
                "MiB",
                samples,
                "maxrss_mib",
                target=target,
            )
        ]

    def floor(self) -> list[Row]:
        size = self.settings.floor_size
        knoll_python = self.runner.pythons["knoll"]
        floors = [
            self.runner.run(knoll_python, "bench.workloads.floor", str(size))
            for _ in range(self.settings.reps)
        ]
        progress(f"  floor {size}: {len(floors)} plain-loop runs")
        floor_first = statistics.median(f["first_s"] for f in floors)
        floor_best = statistics.median(f["best_s"] for f in floors)
        samples = self._materialize(size)
        overhead: dict[str, list[dict[str, float]]] = {
            system: [
                {
                    "first_us": (s["first_s"] - floor_first) / size * 1e6,
                    "warm_us": (s["warm_s"] - floor_best) / size * 1e6,
                }
                for s in samples[system]
            ]
            for system in SYSTEMS
        }
        loop = f"plain loop: {floor_first * 1e3:.2f} ms first pass, {floor_best * 1e3:.2f} ms best"
        return [
            row(
                "floor",
                f"overhead per asset, {size} assets, first call",
                "us",
                overhead,
                "first_us",
                note=loop,
            ),
            row(
                "floor",
                f"overhead per asset, {size} assets, second call",
                "us",
                overhead,
                "warm_us",
            ),
        ]

    def storage(self) -> list[Row]:
        # The stores read by `latest` and `partitions` are built first: those builds are also
        # the first imports of both systems' storage code, so no timed run compiles it.
        with tempfile.TemporaryDirectory(prefix="knoll-bench-storage-") as folder:
            latest = self._storage_latest(Path(folder))
            partitions = self._storage_partitions(Path(folder))
        return self._storage_persist() + latest + partitions

    def _stored(self, name: str, size: int, folder: Path) -> Callable[[str], dict[str, float]]:
        """A measurement: a fresh process reads the store of workload ``name``, which the first
        measurement of each system builds (in its own, untimed process)."""
        script = f"storage_{name}"

        def measure(system: str) -> dict[str, float]:
            where = str(folder / f"{system}-{name}")
            if (system, name) not in self._built:
                progress(f"  {name} {size} [{system}]: building the store")
                self._built[(system, name)] = self._script(
                    system, script, "build", where, str(size)
                )
            return self._script(system, script, "read", where, str(size))

        return measure

    def _build_row(self, name: str, case: str) -> Row:
        """knoll's write rate while building a store. Dagster's store is filled by a batched
        copy of its own ``store_event`` (see bench/workloads/_dagster_storage.py), which is not
        a path its users have: it gets no figure."""
        built = self._built.get(("knoll", name))
        rate = built["events"] / built["build_s"] if built else None
        return Row(
            "storage",
            case,
            "events/s",
            rate,
            None,
            samples={"knoll": [rate] if rate else []},
            higher_is_better=True,
        )

    def _storage_persist(self) -> list[Row]:
        size = self.settings.persist_size
        samples = self.runner.repeat(
            f"storage persist {size}",
            self.settings.big_reps,
            lambda s: self._script(s, "storage_persist", str(size)),
        )
        full = size == FULL.persist_size
        case = f"persist {size} assets"
        return [
            row(
                "storage",
                f"{case}: open instance",
                "s",
                samples,
                "open_s",
                note="a fresh home: Instance.get(home) / DagsterInstance.get(), storage created",
            ),
            row("storage", f"{case}: first run", "s", samples, "first_s"),
            row(
                "storage",
                f"{case}: open + first run",
                "s",
                samples,
                "total_s",
                target=Target(0.4, "s") if full else None,
            ),
            row("storage", f"{case}: second run", "s", samples, "warm_s"),
            row("storage", f"{case}: events stored", "", samples, "events"),
            row(
                "storage",
                f"{case}: events written per second, first run",
                "events/s",
                samples,
                "events_per_s",
                target=Target(5_000, "events/s", at_least=True) if full else None,
                higher_is_better=True,
            ),
            row(
                "storage",
                f"{case}: events written per second, second run",
                "events/s",
                samples,
                "warm_events_per_s",
                higher_is_better=True,
            ),
        ]

    def _storage_latest(self, folder: Path) -> list[Row]:
        size = self.settings.latest_size
        samples = self.runner.repeat(
            f"storage latest {size}", self.settings.reps, self._stored("latest", size, folder)
        )
        full = size == FULL.latest_size
        reads, _ = median_of(samples["dagster"], "reads")
        per_key = "get_latest_materialization(key) / get_latest_materialization_event(key)"
        if reads is not None and reads < size:
            per_key += f"; Dagster reads {reads:,.0f} keys spread over the {size:,}"
        case = f"latest of {size} assets"
        return [
            self._build_row("latest", f"{case}: store_events, 1,000 a batch (build)"),
            row(
                "storage",
                f"{case}: one key at a time, per asset",
                "us",
                samples,
                "per_key_s",
                scale=1e6,
                target=Target(200, "us") if full else None,
                note=per_key,
            ),
            row(
                "storage",
                f"{case}: all keys in one call, per asset",
                "us",
                samples,
                "batch_s",
                scale=1e6,
                note="storage.get_latest_materializations(keys) / "
                "instance.get_latest_materialization_events(keys)",
            ),
            row("storage", f"{case}: all keys in one call", "s", samples, "batch_total_s"),
        ]

    def _storage_partitions(self, folder: Path) -> list[Row]:
        size = self.settings.partitions_size
        samples = self.runner.repeat(
            f"storage partitions {size}",
            self.settings.reps,
            self._stored("partitions", size, folder),
        )
        full = size == FULL.partitions_size
        case = f"status of {size} partitions"
        return [
            self._build_row("partitions", f"{case}: store_events, 1,000 a batch (build)"),
            row(
                "storage",
                f"{case}: first call",
                "s",
                samples,
                "first_s",
                target=Target(0.05, "s") if full else None,
                note="instance.get_partition_status(key) / instance.get_materialized_partitions"
                "(key), in a fresh process",
            ),
            row("storage", f"{case}: second call", "s", samples, "warm_s"),
        ]

    def _fanout(self, steps: int) -> Callable[[str], dict[str, float]]:
        """A measurement: the fan-out of ``steps`` steps in worker processes; for Dagster one
        run per start method, its figures prefixed with the method's name."""

        def measure(system: str) -> dict[str, float]:
            merged: dict[str, float] = {}
            for method in DAGSTER_START_METHODS:
                own = KNOLL_START_METHODS[method] if system == "knoll" else method
                sample = self._script(system, "processes", str(steps), own)
                merged.update({f"{method}_{key}": value for key, value in sample.items()})
            return merged

        return measure

    def processes(self) -> list[Row]:
        rows: list[Row] = []
        runs: dict[int, dict[str, list[dict[str, float]]]] = {}
        for steps in self.settings.processes_sizes:
            samples = self.runner.repeat(
                f"processes {steps}", self.settings.big_reps, self._fanout(steps)
            )
            runs[steps] = {}
            for method in DAGSTER_START_METHODS:
                per_method = {
                    system: [
                        {k.removeprefix(f"{method}_"): v for k, v in sample.items()}
                        for sample in samples[system]
                    ]
                    for system in SYSTEMS
                }
                runs[steps][f"knoll_{method}"] = per_method["knoll"]
                runs[steps][method] = per_method["dagster"]
                versus = f"knoll {KNOLL_START_METHODS[method]} vs Dagster {method}"
                rows += [
                    row(
                        "processes",
                        f"fan-out of {steps} steps, run: {versus}",
                        "s",
                        per_method,
                        "run_s",
                        target=Target(0.5, "s")
                        if steps == 32 and method == DAGSTER_START_METHODS[0]
                        else None,
                        note="execute_job with a multiprocess executor on a persisted SQLite "
                        "instance: knoll max_concurrent=4, Dagster its default (one worker "
                        "per CPU)"
                        if method == DAGSTER_START_METHODS[0] and steps == 8
                        else "",
                    ),
                    row(
                        "processes",
                        f"fan-out of {steps} steps, per step: {versus}",
                        "us",
                        per_method,
                        "per_step_s",
                        scale=1e6,
                        target=Target(5_000, "us")
                        if steps == 32 and method == DAGSTER_START_METHODS[0]
                        else None,
                    ),
                ]
        rows += self._launch()
        small, big = min(runs), max(runs)
        if small == big:
            return rows
        # The cost of one more step, without the pool's start and stop that every run pays.
        for method in DAGSTER_START_METHODS:
            marginal: dict[str, float | None] = {}
            for system, key in (("knoll", f"knoll_{method}"), ("dagster", method)):
                low, _ = median_of(runs[small][key], "run_s")
                high, _ = median_of(runs[big][key], "run_s")
                marginal[system] = (
                    None if low is None or high is None else (high - low) / (big - small) * 1e6
                )
            rows.append(
                Row(
                    "processes",
                    f"each step beyond {small}: knoll {KNOLL_START_METHODS[method]} vs Dagster "
                    f"{method}",
                    "us",
                    marginal["knoll"],
                    marginal["dagster"],
                    note=f"(median run of {big} steps - median run of {small}) / {big - small}"
                    if method == DAGSTER_START_METHODS[0]
                    else "",
                )
            )
        return rows

    def _launch(self) -> list[Row]:
        samples = self.runner.repeat(
            "processes launch",
            self.settings.big_reps,
            lambda s: self._script(s, "processes_launch"),
        )
        case = "launch through a warm code server to first STEP_START"
        return [
            row(
                "processes",
                f"{case}: first run",
                "s",
                samples,
                "first_s",
                target=Target(0.1, "s"),
                note="knoll: Instance.launch_run(LaunchRequest, CodeServerClient) against "
                "`knoll code-server start`; Dagster: create_run + instance.launch_run "
                "(DefaultRunLauncher) against `dagster api grpc`; 8-step fan-out, in-process "
                "executor",
            ),
            row("processes", f"{case}: second run", "s", samples, "second_s"),
            row("processes", "launch_run call, first run", "s", samples, "call_s"),
        ]

    def daemon_tick(self) -> list[Row]:
        samples = self.runner.repeat(
            "daemon tick",
            self.settings.daemon_tick_reps,
            lambda s: self._script(s, "daemon_tick"),
        )
        label = f"daemon tick [knoll, dequeue every {FAST_DEQUEUE_S} s]"
        fast = {"knoll": [], "dagster": samples["dagster"]}
        try:
            fast["knoll"].append(self._script("knoll", "daemon_tick", FAST_DEQUEUE_S))
            progress(f"  {label} 1/1")
        except (WorkloadFailed, subprocess.SubprocessError) as exc:
            progress(f"  {label} FAILED: {exc}")
        case = "schedule tick time to the run's first STEP_START"
        return [
            row(
                "daemon_tick",
                f"{case}: both defaults",
                "s",
                samples,
                "latency_s",
                note="`knoll daemon run -f` / `dagster-daemon run -f` on a fresh SQLite home, "
                "started 15 s before a minute boundary, schedule `* * * * *`: first STEP_START "
                "minus the boundary; knoll: schedules:interval_seconds 1, run_queue:"
                "dequeue_interval_seconds 5 (defaults); Dagster: QueuedRunCoordinator, "
                "DefaultRunLauncher (defaults); knoll and Dagster samples one after the other",
            ),
            row(
                "daemon_tick",
                f"{case}: knoll dequeue {FAST_DEQUEUE_S} s, Dagster default",
                "s",
                fast,
                "latency_s",
                note=f"knoll.yaml run_queue:dequeue_interval_seconds {FAST_DEQUEUE_S}; one "
                "knoll sample",
            ),
        ]

    def daemon_memory(self) -> list[Row]:
        size = self.settings.daemon_memory_size
        samples = self.runner.repeat(
            f"daemon memory {size}",
            self.settings.daemon_memory_reps,
            self._sized("daemon_memory", size),
        )
        case = f"{size} schedules + {size} sensors"
        return [
            row(
                "daemon_memory",
                f"{case}: RSS of daemon + code server after 60 s",
                "MiB",
                samples,
                "rss_mib",
                note="VmRSS summed over the daemon's process tree (the daemon and its code "
                "server) from /proc, 60 s after start; schedules on `0 0 1 1 *`, sensors "
                "running by default, minimum_interval_seconds 30, returning SkipReason",
            ),
            row("daemon_memory", f"{case}: peak of 1-second readings", "MiB", samples, "peak_mib"),
            row("daemon_memory", f"{case}: daemon process alone", "MiB", samples, "daemon_mib"),
            row(
                "daemon_memory",
                f"{case}: sensor ticks stored in 60 s",
                "",
                samples,
                "sensor_ticks",
                note="a count, not a cost: how far each daemon got evaluating the sensors",
            ),
        ]


FAST_DEQUEUE_S = "0.5"  # daemon_tick: the second knoll figure's run_queue:dequeue_interval_seconds

WORKLOADS: dict[str, Callable[[Bench], list[Row]]] = {
    "import": Bench.import_,
    "definitions": Bench.definitions,
    "materialize": Bench.materialize,
    "memory": Bench.memory,
    "floor": Bench.floor,
    "storage": Bench.storage,
    "processes": Bench.processes,
    "daemon_tick": Bench.daemon_tick,
    "daemon_memory": Bench.daemon_memory,
}


# ---- report ------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1e3:.1f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "":
        return f"{value:,.0f}"
    if unit == "us":
        return f"{value:,.0f} us"
    if unit == "events/s":
        return f"{value:,.0f}/s"
    return f"{value:.1f} {unit}"


def table(rows: Sequence[Row]) -> str:
    header = ("workload", "case", "knoll", "dagster", "ratio", "target", "met")
    body = [
        (
            r.workload,
            r.case,
            fmt(r.knoll, r.unit),
            fmt(r.dagster, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.1f}x",
            r.target.describe() if r.target else "",
            {None: "", True: "yes", False: "NO"}[r.met],
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    out += [line(cells) for cells in body]
    notes = [f"  {r.workload} / {r.case}: {r.note}" for r in rows if r.note]
    out += ["", "ratio: dagster/knoll; knoll/dagster for rates (/s), so that above 1 favours knoll"]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def versions(runner: Runner) -> dict[str, str]:
    found: dict[str, str] = {}
    for system in SYSTEMS:
        code = f"import importlib.metadata as m; print(m.version({system!r}))"
        completed = subprocess.run(
            [runner.pythons[system], "-c", code],
            capture_output=True,
            text=True,
            check=False,
            env=runner.env,
        )
        found[system] = completed.stdout.strip() or "unknown"
    return found


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sizes")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(WORKLOADS),
        metavar="NAME",
        help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--dagster-python",
        default=str(BENCH / ".venv-dagster" / "bin" / "python"),
        help="the Python of the venv with Dagster installed (default: bench/.venv-dagster)",
    )
    parser.add_argument(
        "--knoll-python",
        default=sys.executable,
        help="the Python of the venv with knoll installed (default: this interpreter)",
    )
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON results")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for system, python in (("knoll", args.knoll_python), ("dagster", args.dagster_python)):
        if not Path(python).exists():
            progress(f"no Python for {system} at {python}: run bench/run, which creates it.")
            return 2
    settings = QUICK if args.quick else FULL
    runner = Runner({"knoll": args.knoll_python, "dagster": args.dagster_python})
    bench = Bench(runner, settings)
    names = [n for n in WORKLOADS if not args.only or n in args.only]

    started = time.perf_counter()
    progress(f"warming up (one untimed import each); workloads: {', '.join(names)}")
    try:
        bench.warm_up()
    except (WorkloadFailed, subprocess.SubprocessError) as exc:
        progress(f"cannot import a system under test, nothing was measured: {exc}")
        return 2
    rows: list[Row] = []
    failures: list[str] = []
    for name in names:
        progress(f"{name}:")
        try:
            rows += WORKLOADS[name](bench)
        except (WorkloadFailed, subprocess.SubprocessError) as exc:
            progress(f"  {name} FAILED: {exc}")
            failures.append(name)
    elapsed = time.perf_counter() - started

    print(table(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{len(rows)} rows in {elapsed:.0f} s; knoll targets missed: {len(missed)}")
    if failures:
        print(f"workloads that failed (see stderr): {', '.join(failures)}")

    report = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": settings.quick,
        "settings": asdict(settings),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "versions": versions(runner),
        "elapsed_s": elapsed,
        "rows": [r.to_json() for r in rows],
        "failed_workloads": failures,
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
