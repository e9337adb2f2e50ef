"""Every way of recording metadata warns, in the run's events, of a value cut to the limit:
through `knoll asset materialize` / `knoll job execute` into a real instance."""

from __future__ import annotations

import logging
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll.defs.metadata import MAX_METADATA_VALUE_BYTES as LIMIT
from knoll.execution.events import EventType
from knoll.instance import Instance
from tests.cli.helpers import knoll

PROJECT = textwrap.dedent(
    f"""
    from knoll import (
        AssetCheckResult, AssetCheckSpec, AssetMaterialization, AssetObservation, Definitions,
        ConfigurableIOManager, MaterializeResult, Out, Output, asset, asset_check, job, op,
    )

    BIG = "x" * ({LIMIT} + 10)


    @asset
    def logged(context) -> int:
        context.log_event(AssetObservation("logged", metadata={{"seen": BIG}}))
        context.log_event(AssetMaterialization("elsewhere", metadata={{"written": BIG}}))
        context.add_output_metadata({{"added": BIG}})
        return 1


    @asset
    def yielded():
        yield AssetObservation("yielded", metadata={{"yielded_seen": BIG}})
        yield Output(1)


    @asset(check_specs=[AssetCheckSpec("inline", asset="checked")])
    def checked(context):
        context.add_asset_metadata({{"asset_added": BIG}})
        return MaterializeResult(
            check_results=[AssetCheckResult(passed=True, metadata={{"inline_result": BIG}})]
        )


    @asset_check(asset=logged)
    def standalone(logged: int) -> AssetCheckResult:
        return AssetCheckResult(passed=False, metadata={{"standalone_result": BIG}})


    @op
    def make(context) -> int:
        context.add_output_metadata({{"op_added": BIG}})
        return 1


    class Noting(ConfigurableIOManager):
        def handle_output(self, context, obj) -> None:
            context.add_output_metadata({{"io_added": BIG}})

        def load_input(self, context) -> int:
            return 1


    @op(out=Out(io_manager_key="noting"))
    def note() -> int:
        return 1


    @job
    def ops():
        make()
        note()


    defs = Definitions(
        assets=[logged, yielded, checked],
        asset_checks=[standalone],
        jobs=[ops],
        resources={{"noting": Noting()}},
    )
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "project.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    return tmp_path


@pytest.fixture
def instance(project: Path) -> Iterator[Instance]:
    with Instance.get(project / ".knoll") as opened:
        yield opened


def _warnings(instance: Instance) -> Counter[tuple[str | None, str]]:
    found: Counter[tuple[str | None, str]] = Counter()
    for record in instance.get_runs().records:
        for event in instance.events_of_run(record.run.run_id, [EventType.LOG_MESSAGE]):
            if event.level == logging.WARNING:
                found[(event.step_key, event.message)] += 1
    return found


def _message(key: str, owner: str) -> str:
    return (
        f"metadata {key!r} of {owner} has {LIMIT + 10} bytes, over the limit of {LIMIT} bytes "
        f"per value: only its first {LIMIT} bytes were kept. Keep large data in the asset "
        "itself and point to it with MetadataValue.path or MetadataValue.url"
    )


def test_each_cut_value_of_an_asset_run_is_warned_of_once(
    project: Path, instance: Instance
) -> None:
    done = knoll("asset", "materialize", "-f", "project.py", "--select", "*", cwd=project)
    assert done.returncode == 0, done.stderr  # a failed check (WARN) does not fail the run

    assert _warnings(instance) == {
        ("logged", _message("seen", "asset logged")): 1,
        ("logged", _message("written", "asset elsewhere")): 1,
        ("logged", _message("added", "asset logged")): 1,
        ("yielded", _message("yielded_seen", "asset yielded")): 1,
        ("checked", _message("asset_added", "asset checked")): 1,
        ("checked", _message("inline_result", "check checked:inline")): 1,
        ("logged_standalone", _message("standalone_result", "check logged:standalone")): 1,
    }


def test_a_cut_value_of_an_op_output_is_warned_of(project: Path, instance: Instance) -> None:
    done = knoll("job", "execute", "-f", "project.py", "-j", "ops", cwd=project)
    assert done.returncode == 0, done.stderr

    assert _warnings(instance) == {
        ("make", _message("op_added", "output 'result' of op 'make'")): 1,
        ("note", _message("io_added", "output 'result' of op 'note'")): 1,
    }
