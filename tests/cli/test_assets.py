"""`knoll asset materialize | list | show`, into and out of the project's instance."""

from __future__ import annotations

import os
import pty
import select
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import KNOLL, knoll, knoll_env, run_ids


def test_materialize_prints_what_it_produced_and_records_the_run(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "raw,total", cwd=project)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "materializing 2 assets (raw,total)"
    assert "fetched 3 rows" in lines  # the asset's own output still reaches the terminal
    assert f"  materialized raw  (path={project / '.knoll' / 'storage' / 'raw'})" in lines
    assert "  check total:total_positive passed" in lines
    [run_id] = run_ids(project)
    assert lines[-1] == f"run {run_id} succeeded (22 events)"
    assert (project / ".knoll" / "storage" / "total").is_file()
    assert (project / ".knoll" / "knoll.db").is_file()


def test_materialize_from_a_file(project: Path) -> None:
    done = knoll("asset", "materialize", "-f", "project.py", "--select", "raw", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "  materialized raw  (path=" in done.stdout


def test_a_failing_asset_exits_1_with_the_error(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "raw*", cwd=project)
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first == (
        "  FAILED broken: error in asset 'broken' (step 'broken'): ValueError: the warehouse "
        "is on fire"
    )
    [run_id] = run_ids(project)
    assert f"run {run_id} failed" in done.stdout
    assert f"see what happened: knoll run show {run_id}" in done.stderr


def test_unknown_selection_exits_2_with_did_you_mean(project: Path) -> None:
    done = knoll("asset", "materialize", "-m", "project", "--select", "totl", cwd=project)
    assert done.returncode == 2
    assert done.stderr == (
        "error: asset selection names 'totl', which is not an asset in these definitions. "
        "Did you mean 'total'?\n"
    )
    assert run_ids(project) == []


def test_partition_inside_and_outside_the_definition(project: Path) -> None:
    args = ("asset", "materialize", "-m", "project", "--select", "events", "--partition")
    done = knoll(*args, "2024-01-05", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "  materialized events [2024-01-05]  (path=" in done.stdout
    bad = knoll(*args, "2023-01-05", cwd=project)
    assert bad.returncode == 2
    assert bad.stderr.startswith(
        "error: job '__asset_job' has no partition '2023-01-05': it comes before the first "
        "partition '2024-01-01'"
    )
    assert len(run_ids(project)) == 1  # nothing was recorded for the bad key


def test_partition_range_runs_once(project: Path) -> None:
    done = knoll(
        "asset",
        "materialize",
        "-m",
        "project",
        "--select",
        "events",
        "--partition-range",
        "2024-01-01...2024-01-03",
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("materialized events [") == 3
    [run_id] = run_ids(project)
    listed = knoll("run", "list", cwd=project).stdout.splitlines()
    assert listed[1].split()[:5] == [
        run_id, "SUCCESS", "assets:", "events", "2024-01-01...2024-01-03",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tag", "team"], "error: --tag 'team' must look like key=value.\n"),
        (
            ["--partition-range", "2024-01-01..2024-01-03"],
            "error: --partition-range '2024-01-01..2024-01-03' must look like START...END.\n",
        ),
        (
            ["--partition", "2024-01-01", "--partition-range", "2024-01-01...2024-01-02"],
            "error: give --partition or --partition-range, not both.\n",
        ),
    ],
)
def test_bad_options_exit_2(project: Path, args: list[str], message: str) -> None:
    done = knoll("asset", "materialize", "-m", "project", *args, cwd=project)
    assert done.returncode == 2
    assert done.stderr == message


def test_config_file_and_tags_are_recorded(project: Path) -> None:
    (project / "configured.py").write_text(
        "from knoll import Config, asset\n\n"
        "class Factor(Config):\n"
        "    factor: int = 1\n\n"
        "@asset\n"
        "def scaled(config: Factor) -> int:\n"
        "    return 2 * config.factor\n"
    )
    (project / "run.yaml").write_text("ops:\n  scaled:\n    config:\n      factor: 21\n")
    done = knoll(
        "asset", "materialize", "-m", "configured", "--config", "run.yaml", "--tag", "team=core",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = knoll("run", "show", "--last", cwd=project)
    assert "  tags:      team=core" in shown.stdout
    assert "  config:    \n    ops:\n      scaled:\n        config:\n          factor: 21" in (
        shown.stdout
    )
    bad = project / "bad.yaml"
    bad.write_text("ops:\n  scaled:\n    config:\n      factr: 21\n")
    typo = knoll("asset", "materialize", "-m", "configured", "--config", "bad.yaml", cwd=project)
    assert typo.returncode == 2
    assert "unknown field 'factr'. Did you mean 'factor'?" in typo.stderr


def test_list_shows_definitions_with_their_latest_materialization(project: Path) -> None:
    never = knoll("asset", "list", "-m", "project", cwd=project)
    assert never.returncode == 0, never.stderr
    assert "total  group=default  deps=raw  never materialized" in never.stdout.splitlines()
    knoll("asset", "materialize", "-m", "project", "--select", "raw", cwd=project)
    [run_id] = run_ids(project)
    listed = knoll("asset", "list", "-m", "project", cwd=project).stdout.splitlines()
    [raw] = [line for line in listed if line.startswith("raw  ")]
    assert raw.startswith("raw  group=default  deps=-  materialized ")
    assert raw.endswith(f"(run {run_id[:8]})")
    recorded = knoll("asset", "list", cwd=project)
    assert recorded.stdout.splitlines() == [raw.replace("  group=default  deps=-", "")]


def test_list_stale_gives_the_reasons(project: Path) -> None:
    knoll("asset", "materialize", "-m", "project", "--select", "raw,total", cwd=project)
    fresh = knoll("asset", "list", "-m", "project", "--stale", cwd=project)
    assert fresh.returncode == 0, fresh.stderr
    assert "raw " not in fresh.stdout
    assert "total " not in fresh.stdout
    assert "broken  stale: never materialized" in fresh.stdout.splitlines()
    source = project / "project.py"
    source.write_text(source.read_text().replace('code_version="v1"', 'code_version="v2"'))
    knoll("asset", "materialize", "-m", "project", "--select", "raw", cwd=project)
    run_id = run_ids(project)[0]
    stale = knoll("asset", "list", "-m", "project", "--stale", cwd=project).stdout.splitlines()
    assert f"total  stale: upstream 'raw' was materialized after it (run {run_id[:8]})" in stale
    source.write_text(source.read_text().replace('code_version="v2"', 'code_version="v3"'))
    changed = knoll("asset", "list", "-m", "project", "--stale", cwd=project).stdout
    assert "raw  stale: code version changed from 'v2' to 'v3'" in changed.splitlines()


def test_list_stale_needs_the_code(project: Path) -> None:
    done = knoll("asset", "list", "--stale", cwd=project)
    assert done.returncode == 2
    assert "--stale compares the code with what was materialized" in done.stderr


def test_show_gives_metadata_partition_counts_and_history(project: Path) -> None:
    for key in ("2024-01-01", "2024-01-02"):
        args = ("asset", "materialize", "-m", "project", "--select", "events")
        assert knoll(*args, "--partition", key, cwd=project).returncode == 0
    newest, oldest = run_ids(project)
    shown = knoll("asset", "show", "events", "-m", "project", cwd=project)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "asset events"
    assert "  materializations: 2" in lines
    assert f"  run:           {newest}" in lines
    assert "  partition:     2024-01-02" in lines
    assert f"    path  {project / '.knoll' / 'storage' / 'events' / '2024-01-02'}" in lines
    assert "partitions (daily partitions from 2024-01-01 to 2024-02-01 (UTC)): 31" in lines
    assert "  2 materialized, 0 failed, 0 in progress, 29 missing" in lines
    history = lines[lines.index("recent materializations (newest first, up to 10):") + 1 :]
    assert [line.split("run ")[1] for line in history] == [
        f"{newest}  [2024-01-02]",
        f"{oldest}  [2024-01-01]",
    ]
    # without the code, only what the instance recorded
    recorded = knoll("asset", "show", "events", cwd=project).stdout.splitlines()
    assert "partitions (recorded): 2" in recorded
    assert "  2 materialized, 0 failed, 0 in progress" in recorded


def test_show_counts_failed_partitions(tmp_path: Path) -> None:
    (tmp_path / "flaky.py").write_text(
        "from knoll import StaticPartitionsDefinition, asset\n\n"
        "@asset(partitions_def=StaticPartitionsDefinition(['no', 'pe', 'se']))\n"
        "def regions(context) -> str:\n"
        "    if context.partition_key == 'pe':\n"
        "        raise RuntimeError('no data for pe')\n"
        "    return context.partition_key\n"
    )
    for key in ("no", "pe"):
        knoll("asset", "materialize", "-m", "flaky", "--partition", key, cwd=tmp_path)
    shown = knoll("asset", "show", "regions", "-m", "flaky", cwd=tmp_path).stdout.splitlines()
    assert "  1 materialized, 1 failed, 0 in progress, 1 missing" in shown
    assert "  failed: pe" in shown


VERSIONED = """
import os
from knoll import DataVersion, Output, asset

@asset(code_version="c1")
def prices() -> Output[int]:
    return Output(
        1, data_version=DataVersion(os.environ["PRICES_VERSION"]), tags={"source": "feed"}
    )

@asset
def basket(prices: int) -> int:
    return prices * 2
"""


def test_show_gives_the_data_version_and_tags(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(VERSIONED)
    first = {"PRICES_VERSION": "2024-06-01"}
    done = knoll("asset", "materialize", "-m", "shop", cwd=tmp_path, env=first)
    assert done.returncode == 0, done.stderr
    shown = knoll("asset", "show", "prices", cwd=tmp_path).stdout.splitlines()
    latest = shown[shown.index("latest materialization:") :]
    assert "  data version:  2024-06-01" in latest
    tags = latest[latest.index("  tags:") + 1 : latest.index("  metadata:")]
    assert tags == ["    source              feed", "    knoll/code_version  c1"]
    # a materialization without either shows neither
    basket = knoll("asset", "show", "basket", cwd=tmp_path).stdout
    assert "data version:" not in basket
    assert "tags:" not in basket


def test_list_stale_follows_the_data_version(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(VERSIONED)
    same = {"PRICES_VERSION": "a"}
    knoll("asset", "materialize", "-m", "shop", cwd=tmp_path, env=same)
    args = ("asset", "materialize", "-m", "shop", "--select", "prices")
    assert knoll(*args, cwd=tmp_path, env=same).returncode == 0
    fresh = knoll("asset", "list", "-m", "shop", "--stale", cwd=tmp_path).stdout
    assert fresh == "no stale assets (2 checked).\n"
    assert knoll(*args, cwd=tmp_path, env={"PRICES_VERSION": "b"}).returncode == 0
    stale = knoll("asset", "list", "-m", "shop", "--stale", cwd=tmp_path).stdout
    assert stale == "basket  stale: upstream 'prices' has a new data version ('b', was 'a')\n"


def test_show_unknown_asset_suggests(project: Path) -> None:
    done = knoll("asset", "show", "totl", "-m", "project", cwd=project)
    assert done.returncode == 2
    assert done.stderr == ("error: no asset 'totl' in these definitions. Did you mean 'total'?\n")
    knoll("asset", "materialize", "-m", "project", "--select", "raw", cwd=project)
    recorded = knoll("asset", "show", "rwa", cwd=project)
    assert recorded.returncode == 2
    assert recorded.stderr.startswith(
        "error: no asset 'rwa' recorded in this instance. Did you mean 'raw'?"
    )


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_the_progress_bar_leaves_the_output_whole(project: Path) -> None:
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [*KNOLL, "asset", "materialize", "-m", "project", "--select", "raw,total"],
        cwd=project,
        env=knoll_env(project, {"COLUMNS": "100", "TERM": "xterm"}),
        stdin=child,
        stdout=child,
        stderr=child,
    )
    os.close(child)
    output = bytearray()
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output.extend(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(main)
    text = output.decode()
    assert "steps" in text  # the bar was drawn...
    for line in ("fetched 3 rows\r\n", "  materialized raw  (path=", "check total:total_positive"):
        assert line in text  # ...and every line arrived whole
    # the compute log holds the asset's output only, no drawing of the bar
    [run_id] = run_ids(project)
    log = project / ".knoll" / "logs" / run_id / "raw.out"
    assert log.read_text() == "fetched 3 rows\n"


AUTOMATED = """
from knoll import AutomationCondition, Definitions, asset


@asset(automation_condition=AutomationCondition.on_cron("0 6 * * *"))
def report() -> int:
    return 1


@asset
def manual() -> int:
    return 2


defs = Definitions(assets=[report, manual])
"""


def test_show_gives_the_automation_condition(tmp_path: Path) -> None:
    (tmp_path / "reports.py").write_text(AUTOMATED)
    shown = knoll("asset", "show", "report", "-m", "reports", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "  automation:    on_cron(0 6 * * *, UTC)" in shown.stdout.splitlines()
    manual = knoll("asset", "show", "manual", "-m", "reports", cwd=tmp_path).stdout
    assert "automation:" not in manual


OBSERVED = """
import os
from knoll import DataVersion, asset, observable_source_asset

@observable_source_asset
def raw_feed() -> DataVersion:
    return DataVersion(os.environ["FEED_VERSION"])

@asset(deps=[raw_feed])
def feed_summary() -> int:
    return 1
"""


def test_materialize_observes_an_observable_source_asset(tmp_path: Path) -> None:
    (tmp_path / "observed.py").write_text(OBSERVED)

    def run(select: str, version: str) -> str:
        env = {"FEED_VERSION": version}
        done = knoll(
            "asset", "materialize", "-m", "observed", "--select", select, cwd=tmp_path, env=env
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "  observed raw_feed at data version 'v1'" in run("raw_feed", "v1").splitlines()
    run("feed_summary", "v1")
    run("raw_feed", "v2")
    done = knoll("asset", "list", "-m", "observed", "--stale", cwd=tmp_path)
    assert "upstream 'raw_feed' has a new data version ('v2', was 'v1')" in done.stdout
