"""``materialize`` and ``materialize_to_memory``: what runs, what is loaded, what comes back."""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    AssetSpec,
    Config,
    DefinitionError,
    EventType,
    ExecuteInProcessResult,
    InMemoryIOManager,
    InvalidConfigError,
    InvalidInvocationError,
    IOManager,
    MaterializeResult,
    RunConfig,
    RunStatus,
    UserCodeError,
    asset,
    materialize,
    materialize_to_memory,
)
from knoll.defs.io_manager import InputContextLike, OutputContextLike


@pytest.fixture(autouse=True)
def knoll_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default FilesystemIOManager writes under $KNOLL_HOME/storage: keep it in tmp_path."""
    monkeypatch.setenv("KNOLL_HOME", str(tmp_path))
    return tmp_path


class CountingIOManager(IOManager):
    """Keeps values by asset key and counts the calls it gets."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self.calls: Counter[str] = Counter()

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        key = context.asset_key.to_user_string()
        self.calls[f"handle:{key}"] += 1
        self.values[key] = obj

    def load_input(self, context: InputContextLike) -> Any:
        key = context.asset_key.to_user_string()
        self.calls[f"load:{key}"] += 1
        return self.values[key]


calls: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def reset_calls() -> None:
    calls.clear()


@asset
def raw() -> int:
    calls["raw"] += 1
    return 1


@asset
def cleaned(raw: int) -> int:
    calls["cleaned"] += 1
    return raw + 10


@asset
def report(cleaned: int) -> str:
    calls["report"] += 1
    return f"total={cleaned}"


ALL = [raw, cleaned, report]


# ---- what runs ----------------------------------------------------------------------------


def test_materialize_computes_every_asset_in_dependency_order() -> None:
    result = materialize(ALL)

    assert isinstance(result, ExecuteInProcessResult)
    assert result.success
    assert result.run.status is RunStatus.SUCCESS
    assert result.asset_value("raw") == 1
    assert result.asset_value(AssetKey("cleaned")) == 11
    assert result.asset_value(["report"]) == "total=11"
    started = [e.step_key for e in result.all_events if e.event_type is EventType.STEP_START]
    assert started == ["raw", "cleaned", "report"]
    assert calls == Counter(raw=1, cleaned=1, report=1)


def test_materialize_default_io_manager_pickles_under_knoll_home(knoll_home: Path) -> None:
    materialize(ALL)

    stored = knoll_home / "storage" / "cleaned"
    assert pickle.loads(stored.read_bytes()) == 11


def test_assets_outside_the_selection_are_loaded_not_recomputed() -> None:
    io = CountingIOManager()
    materialize(ALL, resources={"io_manager": io})
    calls.clear()
    io.calls.clear()

    result = materialize(ALL, selection=[report], resources={"io_manager": io})

    assert result.asset_value("report") == "total=11"
    assert calls == Counter(report=1)
    assert io.calls == Counter({"load:cleaned": 1, "handle:report": 1})
    with pytest.raises(InvalidInvocationError, match="asset 'cleaned' was not computed in run"):
        result.asset_value("cleaned")


@pytest.mark.parametrize(
    "selection",
    [
        "cleaned+",
        ["cleaned", "report"],
        [cleaned, report],
        [AssetKey("cleaned"), AssetKey("report")],
        AssetSelection.assets(cleaned).downstream(),
    ],
    ids=["string", "names", "definitions", "keys", "asset-selection"],
)
def test_selection_forms(selection: Any) -> None:
    io = CountingIOManager({"raw": 5})

    result = materialize(ALL, selection=selection, resources={"io_manager": io})

    assert result.asset_value("report") == "total=15"
    assert calls == Counter(cleaned=1, report=1)
    assert io.calls["load:raw"] == 1
    assert result.run.asset_selection == frozenset({AssetKey("cleaned"), AssetKey("report")})


def test_external_asset_spec_is_loaded_through_the_io_manager() -> None:
    source = AssetSpec("source_table")

    @asset
    def uses_source(source_table: list[int]) -> int:
        return sum(source_table)

    io = CountingIOManager({"source_table": [1, 2, 3]})
    result = materialize([source, uses_source], resources={"io_manager": io})

    assert result.asset_value("uses_source") == 6
    assert io.calls["load:source_table"] == 1
    with pytest.raises(DefinitionError, match="'source_table' is external"):
        materialize([source, uses_source], selection=["source_table"])


def test_materialize_takes_a_list() -> None:
    with pytest.raises(InvalidInvocationError, match=r"write materialize\(\[my_asset\]\)"):
        materialize(raw)  # type: ignore[arg-type]


# ---- options --------------------------------------------------------------------------------


class Scale(Config):
    factor: int = 2


@asset
def scaled(config: Scale) -> int:
    return 10 * config.factor


def test_run_config_as_dict_and_as_run_config_object() -> None:
    assert materialize_to_memory([scaled]).asset_value("scaled") == 20
    as_dict = {"ops": {"scaled": {"config": {"factor": 3}}}}
    assert materialize_to_memory([scaled], run_config=as_dict).asset_value("scaled") == 30
    as_object = RunConfig(ops={"scaled": Scale(factor=4)})
    result = materialize_to_memory([scaled], run_config=as_object)
    assert result.asset_value("scaled") == 40
    assert result.run.run_config == {"ops": {"scaled": {"config": {"factor": 4}}}}


def test_config_errors_name_the_assets_not_an_internal_job() -> None:
    with pytest.raises(InvalidConfigError) as info:
        materialize([scaled], run_config={"ops": {"scaled": {"config": {"factr": 3}}}})

    message = str(info.value)
    assert "materialize() of asset 'scaled'" in message
    assert "ephemeral" not in message
    assert "at path ops:scaled:config: unknown field 'factr'. Did you mean 'factor'?" in message


def test_tags_and_run_id_are_recorded_on_the_run() -> None:
    result = materialize(ALL, tags={"team": "data", "env": "test"}, run_id="run-123")

    assert result.run_id == "run-123"
    assert result.run.tags == {"team": "data", "env": "test"}
    assert {e.run_id for e in result.all_events} == {"run-123"}


def test_invalid_tags_are_rejected_before_the_run() -> None:
    with pytest.raises(DefinitionError, match="tag 'n' of run of materialize"):
        materialize(ALL, tags={"n": 1})  # type: ignore[dict-item]
    assert calls == Counter()


def test_resources_are_passed_to_assets() -> None:
    class Greeter:
        def greet(self, name: str) -> str:
            return f"hello {name}"

    @asset(required_resource_keys=["greeter"])
    def greeting(context: AssetExecutionContext) -> str:
        greeter: Greeter = context.resources.greeter
        return greeter.greet("knoll")

    result = materialize([greeting], resources={"greeter": Greeter()})
    assert result.asset_value("greeting") == "hello knoll"


def test_raise_on_error_true_raises_the_step_error() -> None:
    @asset
    def broken() -> int:
        raise ValueError("no data today")

    with pytest.raises(UserCodeError, match=r"asset 'broken' \(step 'broken'\).*no data today"):
        materialize([broken])


def test_raise_on_error_false_returns_a_failed_result() -> None:
    @asset
    def broken() -> int:
        raise ValueError("no data today")

    @asset
    def downstream(broken: int) -> int:
        return broken

    result = materialize([broken, downstream], raise_on_error=False)

    assert not result.success
    assert result.run.status is RunStatus.FAILURE
    assert result.failed_step_keys == ["broken"]
    error = result.step_error("broken")
    assert isinstance(error, UserCodeError)
    assert isinstance(error.__cause__, ValueError)
    assert [e.step_key for e in result.get_step_skipped_events()] == ["downstream"]
    assert result.run_error is None


# ---- results ------------------------------------------------------------------------------


def test_asset_value_suggests_close_names() -> None:
    result = materialize(ALL)
    with pytest.raises(InvalidInvocationError, match="Did you mean 'report'"):
        result.asset_value("reprot")


def test_asset_value_of_a_materialize_result_explains_there_is_no_value() -> None:
    @asset
    def written_elsewhere() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 3})

    result = materialize([written_elsewhere])
    with pytest.raises(InvalidInvocationError, match="returned a MaterializeResult or None"):
        result.asset_value("written_elsewhere")


def test_materialization_events_carry_asset_keys_and_metadata() -> None:
    result = materialize(ALL)

    events = result.get_asset_materialization_events()
    assert [e.materialization.asset_key for e in events] == [
        AssetKey("raw"),
        AssetKey("cleaned"),
        AssetKey("report"),
    ]
    assert all("path" in e.materialization.metadata for e in events)
    per_node = result.asset_materializations_for_node("cleaned")
    assert [m.asset_key for m in per_node] == [AssetKey("cleaned")]


def test_output_for_node_and_output_value() -> None:
    result = materialize([raw])
    assert result.output_for_node("raw") == 1
    assert result.output_value() == 1
    with pytest.raises(InvalidInvocationError, match=r"has no node 'rwa'.*Did you mean 'raw'"):
        result.output_for_node("rwa")


# ---- materialize_to_memory -------------------------------------------------------------------


def test_materialize_to_memory_writes_no_files(knoll_home: Path) -> None:
    result = materialize_to_memory(ALL)

    assert result.asset_value("report") == "total=11"
    assert not (knoll_home / "storage").exists()


def test_materialize_to_memory_replaces_custom_io_managers() -> None:
    @asset(io_manager_key="warehouse")
    def stored_in_warehouse() -> int:
        return 7

    @asset
    def reads_it(stored_in_warehouse: int) -> int:
        return stored_in_warehouse * 2

    result = materialize_to_memory([stored_in_warehouse, reads_it])
    assert result.asset_value("reads_it") == 14


def test_materialize_to_memory_refuses_an_io_manager_it_would_replace() -> None:
    @asset(io_manager_key="warehouse")
    def stored_in_warehouse() -> int:
        return 7

    with pytest.raises(InvalidInvocationError, match="sets 'warehouse'; remove it"):
        materialize_to_memory([stored_in_warehouse], resources={"warehouse": InMemoryIOManager()})


def test_materialize_to_memory_cannot_load_what_it_did_not_compute() -> None:
    result = materialize_to_memory(ALL, selection=["report"], raise_on_error=False)

    assert not result.success
    error = result.step_error("report")
    assert isinstance(error, UserCodeError)
    assert "asset 'cleaned' has no value in this in-memory IO manager" in str(error)


def test_missing_resource_is_reported_against_the_asset_before_the_run() -> None:
    @asset(required_resource_keys=["warehouse"])
    def needs_warehouse() -> int:
        return 1

    with pytest.raises(DefinitionError) as info:
        materialize([needs_warehouse], resources={"warehous": object()})
    message = str(info.value)
    assert "asset 'needs_warehouse' requires resource 'warehouse'" in message
    assert "Did you mean 'warehous'?" in message
    assert "ephemeral" not in message
