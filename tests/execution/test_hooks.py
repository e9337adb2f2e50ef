"""Hooks: success and failure hooks run after each step, in the step's process, with resources;
a hook that raises is recorded and does not fail the run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    ConfigurableResource,
    Definitions,
    EventType,
    FilesystemIOManager,
    HookContext,
    HookDefinition,
    asset,
    build_hook_context,
    define_asset_job,
    failure_hook,
    graph,
    job,
    op,
    success_hook,
)
from knoll.defs.executor import multiprocess_executor
from knoll.errors import DefinitionError, InvalidInvocationError
from knoll.execution.events import HookData
from knoll.execution.reexecution import execute_job
from knoll.instance import Instance


class Alerts:
    """A fake alerting client: records the messages it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)


@success_hook(required_resource_keys={"alerts"})
def announce_success(context: HookContext) -> None:
    context.resources.alerts.send(f"ok {context.job_name}/{context.step_key}")


@failure_hook(name="page_on_call", required_resource_keys={"alerts"})
def page(context: HookContext) -> None:
    context.resources.alerts.send(f"failed {context.step_key}: {context.op_exception!r}")


@op
def extract() -> list[int]:
    return [1, 2, 3]


@op
def load(rows: list[int]) -> int:
    if len(rows) > 2:
        raise ValueError("warehouse is read-only")
    return len(rows)


def _hook_events(result: Any) -> list[tuple[str, str | None, str]]:
    return [
        (e.event_type.value, e.step_key, e.data.hook_name)
        for e in result.all_events
        if isinstance(e.data, HookData)
    ]


def test_job_hooks_run_after_each_step_with_their_resources() -> None:
    alerts = Alerts()

    @job(hooks={announce_success, page}, resource_defs={"alerts": alerts})
    def nightly() -> None:
        load(extract())

    result = nightly.execute_in_process(raise_on_error=False)
    assert not result.success
    assert alerts.sent == [
        "ok nightly/extract",
        "failed load: ValueError('warehouse is read-only')",
    ]
    assert _hook_events(result) == [
        ("HOOK_COMPLETED", "extract", "announce_success"),
        ("HOOK_SKIPPED", "extract", "page_on_call"),
        ("HOOK_SKIPPED", "load", "announce_success"),
        ("HOOK_COMPLETED", "load", "page_on_call"),
    ]
    # a hook runs after its step has ended
    types = [e.event_type for e in result.all_events if e.step_key == "extract"]
    assert types.index(EventType.STEP_SUCCESS) < types.index(EventType.HOOK_COMPLETED)


def test_a_hook_that_raises_is_recorded_and_the_run_still_succeeds() -> None:
    @success_hook
    def flaky_notify(context: HookContext) -> None:
        raise ConnectionError("chat server unreachable")

    @graph
    def daily() -> None:
        extract()

    result = daily.to_job(hooks={flaky_notify}).execute_in_process()
    assert result.success
    (errored,) = [e for e in result.all_events if e.event_type is EventType.HOOK_ERRORED]
    assert errored.step_key == "extract"
    assert "error in success hook 'flaky_notify' after step 'extract'" in errored.message
    assert "ConnectionError: chat server unreachable" in errored.message
    assert errored.data.error.class_name == "ConnectionError"


def test_op_with_hooks_attaches_to_that_op_only() -> None:
    alerts = Alerts()

    @job(resource_defs={"alerts": alerts})
    def partial() -> None:
        extract.with_hooks({announce_success})()
        extract()

    assert partial.execute_in_process().success
    assert alerts.sent == ["ok partial/extract"]


def test_asset_job_hooks_and_the_instance_records_hook_events(tmp_path: Path) -> None:
    alerts = Alerts()

    @asset
    def orders() -> int:
        return 3

    defs = Definitions(
        assets=[orders],
        jobs=[define_asset_job("refresh", hooks={announce_success})],
        resources={"alerts": alerts},
    )
    instance = Instance.get(tmp_path / "home")
    result = execute_job(defs.get_job_def("refresh"), instance)
    assert result.success
    assert alerts.sent == ["ok refresh/orders"]
    stored = instance.get_events(result.run_id, of_types=[EventType.HOOK_COMPLETED]).records
    assert [r.event.data for r in stored] == [HookData("announce_success")]


class Marks(ConfigurableResource):
    folder: str


@success_hook(required_resource_keys={"marks"})
def write_mark(context: HookContext) -> None:
    path = Path(context.resources.marks.folder) / f"{context.step_key}.hook"
    path.write_text(str(os.getpid()))


def test_hooks_run_in_the_worker_process_of_a_multiprocess_run(tmp_path: Path) -> None:
    @asset
    def raw() -> int:
        return os.getpid()

    @asset
    def clean(raw: int) -> int:
        return os.getpid()

    marks = tmp_path / "marks"
    marks.mkdir()
    defs = Definitions(
        assets=[raw, clean],
        jobs=[define_asset_job("all", hooks={write_mark})],
        resources={
            "marks": Marks(folder=str(marks)),
            "io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out")),
        },
        executor=multiprocess_executor(max_concurrent=2),
    )
    result = execute_job(defs.get_job_def("all"), Instance.get(tmp_path / "home"))
    assert result.success
    written = {p.name: p.read_text() for p in marks.iterdir()}
    assert written == {
        "raw.hook": str(result.asset_value("raw")),
        "clean.hook": written["clean.hook"],
    }
    assert written["clean.hook"] == str(result.asset_value("clean"))
    assert str(os.getpid()) not in written.values()


def test_a_hook_resource_that_is_not_provided_is_named() -> None:
    @job(hooks={page})
    def unwired() -> None:
        extract()

    with pytest.raises(DefinitionError, match=r"failure hook 'page_on_call'.*'alerts'"):
        unwired.execute_in_process()


def test_build_hook_context_calls_a_hook_directly() -> None:
    alerts = Alerts()
    page(build_hook_context(resources={"alerts": alerts}, op=load, op_exception=KeyError("x")))
    assert alerts.sent == ["failed load: KeyError('x')"]
    context = build_hook_context(run_id="r1", job_name="nightly")
    assert (context.run_id, context.job_name, context.op_exception) == ("r1", "nightly", None)
    with pytest.raises(
        InvalidInvocationError, match=r"'alerts' is not available to this hook.*resources="
    ):
        announce_success(context)


@graph
def empty() -> None:
    extract()


def test_hook_declaration_errors_name_the_hook() -> None:
    assert isinstance(page, HookDefinition)
    assert (page.name, page.trigger, page.required_resource_keys) == (
        "page_on_call",
        "failure",
        frozenset({"alerts"}),
    )
    with pytest.raises(DefinitionError, match=r"success hook 'two'.*takes 2 required"):

        @success_hook  # type: ignore[arg-type]
        def two(context: HookContext, extra: int) -> None: ...

    with pytest.raises(
        DefinitionError, match=r"set of resource keys.*required_resource_keys=\{'db'\}"
    ):

        @failure_hook(required_resource_keys="db")
        def one(context: HookContext) -> None: ...

    with pytest.raises(DefinitionError, match=r"hooks of job 'j'.*not a hook.*@success_hook"):
        empty.to_job(name="j", hooks={print})  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match=r"hooks of op 'extract' must be a set"):
        extract.with_hooks(announce_success)  # type: ignore[arg-type]


def test_asset_hooks_run_after_that_asset_only() -> None:
    alerts = Alerts()

    @asset(hooks={announce_success})
    def revenue() -> int:
        return 10

    @asset
    def forecast(revenue: int) -> int:
        return revenue * 2

    from knoll import materialize

    assert materialize([revenue, forecast], resources={"alerts": alerts}).success
    assert alerts.sent == ["ok __ephemeral_asset_job__/revenue"]
    with pytest.raises(DefinitionError, match=r"hooks of asset 'revenue'.*not a hook"):

        @asset(name="revenue", hooks={print})  # type: ignore[arg-type]
        def again() -> int:
            return 1
