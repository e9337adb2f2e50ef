"""IO managers in runs: the built-in file and memory managers, and what custom ones are told."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetExecutionContext,
    DefinitionError,
    EventType,
    ExecutionError,
    FilesystemIOManager,
    InitResourceContext,
    InMemoryIOManager,
    InputContext,
    InvalidInvocationError,
    IOManager,
    MaterializeResult,
    OutputContext,
    StaticPartitionsDefinition,
    UserCodeError,
    asset,
    io_manager,
    job,
    materialize,
    op,
)
from knoll.defs.io_manager import InputContextLike, OutputContextLike
from knoll.execution.events import IOData

holder: dict[str, Any] = {"value": 1}


@asset
def source() -> Any:
    return holder["value"]


@asset
def consumer(source: Any) -> str:
    return f"got {source}"


@asset(key_prefix=["warehouse", "raw"])
def prefixed() -> int:
    return 9


@pytest.fixture(autouse=True)
def reset_holder() -> None:
    holder["value"] = 1


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---- FilesystemIOManager ----------------------------------------------------------------------


def test_assets_are_pickled_at_their_key_path(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))

    result = materialize([source, consumer, prefixed], resources={"io_manager": io})

    assert files_under(tmp_path) == ["consumer", "source", "warehouse/raw/prefixed"]
    assert pickle.loads((tmp_path / "warehouse" / "raw" / "prefixed").read_bytes()) == 9
    materializations = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata["path"].value
        for e in result.get_asset_materialization_events()
    }
    assert materializations["warehouse/raw/prefixed"] == str(
        tmp_path / "warehouse" / "raw" / "prefixed"
    )
    handled = result.events_of_type(EventType.HANDLED_OUTPUT)
    assert all(isinstance(e.data, IOData) and "path" in e.data.metadata for e in handled)


def test_op_outputs_are_stored_per_run_step_and_output(tmp_path: Path) -> None:
    @op
    def emit() -> int:
        return 5

    @op
    def take(value: int) -> int:
        return value + 1

    @job(resource_defs={"io_manager": FilesystemIOManager(base_dir=str(tmp_path))})
    def on_disk() -> None:
        take(emit())

    result = on_disk.execute_in_process()

    assert result.output_for_node("take") == 6
    run_id = result.run_id
    assert files_under(tmp_path) == [f"{run_id}/emit/result", f"{run_id}/take/result"]


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    for value in range(3):
        holder["value"] = value
        materialize([source], resources={"io_manager": io})

    assert files_under(tmp_path) == ["source"]
    assert pickle.loads((tmp_path / "source").read_bytes()) == 2


def test_a_failing_pickle_keeps_the_previous_file(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))
    materialize([source], resources={"io_manager": io})

    holder["value"] = lambda: "functions defined inline cannot be pickled"
    with pytest.raises(UserCodeError) as info:
        materialize([source], resources={"io_manager": io})

    assert str(info.value).startswith(
        "asset 'source': IO manager 'io_manager' failed to store output 'result': "
    )
    assert isinstance(info.value.__cause__, (pickle.PicklingError, AttributeError, TypeError))
    assert files_under(tmp_path) == ["source"]
    assert pickle.loads((tmp_path / "source").read_bytes()) == 1


def test_missing_upstream_file_gives_a_clear_message(tmp_path: Path) -> None:
    io = FilesystemIOManager(base_dir=str(tmp_path))

    with pytest.raises(UserCodeError) as info:
        materialize([source, consumer], selection=[consumer], resources={"io_manager": io})

    assert str(info.value) == (
        "asset 'consumer': IO manager 'io_manager' failed to load input 'source' (asset "
        f"'source'): asset 'source' has no stored value at {tmp_path / 'source'}: it has not been "
        "materialized with this IO manager. Materialize it first, or add it to the selection."
    )
    assert isinstance(info.value.__cause__, ExecutionError)


def test_default_base_dir_is_under_knoll_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOLL_HOME", str(tmp_path))

    materialize([source, consumer])

    assert files_under(tmp_path) == ["storage/consumer", "storage/source"]


def test_partition_keys_are_quoted_into_file_names(tmp_path: Path) -> None:
    paths = StaticPartitionsDefinition(["a/b", "plain"])

    @asset(partitions_def=paths)
    def by_path(context: AssetExecutionContext) -> str:
        return context.partition_key

    io = FilesystemIOManager(base_dir=str(tmp_path))
    materialize([by_path], partition_key="a/b", resources={"io_manager": io})
    materialize([by_path], partition_key="plain", resources={"io_manager": io})

    assert files_under(tmp_path) == ["by_path/a%2Fb", "by_path/plain"]
    assert pickle.loads((tmp_path / "by_path" / "a%2Fb").read_bytes()) == "a/b"


def test_asset_jobs_default_to_files_and_op_jobs_to_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOLL_HOME", str(tmp_path))

    @op
    def in_memory() -> int:
        return 1

    @job
    def op_job() -> None:
        in_memory()

    assert op_job.execute_in_process().output_for_node("in_memory") == 1
    assert files_under(tmp_path) == []
    materialize([source])
    assert files_under(tmp_path) == ["storage/source"]


# ---- InMemoryIOManager ------------------------------------------------------------------------


def test_in_memory_values_are_shared_by_runs_given_the_same_instance() -> None:
    io = InMemoryIOManager()
    materialize([source], resources={"io_manager": io})
    holder["value"] = "changed"

    result = materialize([source, consumer], selection=[consumer], resources={"io_manager": io})

    assert result.asset_value("consumer") == "got 1"


def test_in_memory_missing_value() -> None:
    with pytest.raises(UserCodeError) as info:
        materialize(
            [source, consumer], selection=[consumer], resources={"io_manager": InMemoryIOManager()}
        )
    assert "asset 'source' has no value in this in-memory IO manager" in str(info.value)


# ---- custom IO managers -----------------------------------------------------------------------


class Recording(IOManager):
    """Keeps values by asset key and remembers the contexts it was given."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.outputs: list[OutputContextLike] = []
        self.inputs: list[InputContextLike] = []

    def handle_output(self, context: OutputContextLike, obj: Any) -> None:
        self.outputs.append(context)
        self.values[context.asset_key.to_user_string()] = obj
        context.add_output_metadata({"stored_in": "recording"})

    def load_input(self, context: InputContextLike) -> Any:
        self.inputs.append(context)
        return self.values[context.asset_key.to_user_string()]


def test_custom_io_manager_receives_full_contexts() -> None:
    @asset(metadata={"owner": "data team"})
    def annotated(context: AssetExecutionContext) -> int:
        context.add_output_metadata({"rows": 12})
        return 12

    @asset
    def reader(annotated: int) -> int:
        return annotated * 2

    io = Recording()
    result = materialize([annotated, reader], resources={"io_manager": io})

    output = io.outputs[0]
    assert isinstance(output, OutputContext)
    assert output.asset_key.to_user_string() == "annotated"
    assert output.name == "result"
    assert output.step_key == "annotated"
    assert output.run_id == result.run_id
    assert output.metadata["rows"].value == 12
    assert output.definition_metadata["owner"].value == "data team"
    assert not output.has_partition_key

    [loaded] = io.inputs
    assert isinstance(loaded, InputContext)
    assert loaded.name == "annotated"
    assert loaded.step_key == "reader"
    assert loaded.asset_key.to_user_string() == "annotated"
    assert loaded.upstream_output is not None
    assert loaded.upstream_output.step_key == "annotated"

    [first, _] = result.get_asset_materialization_events()
    assert first.materialization.metadata["rows"].value == 12
    assert first.materialization.metadata["stored_in"].value == "recording"


def test_input_of_an_asset_outside_the_run_has_an_upstream_context() -> None:
    io = Recording()
    io.values["source"] = "preloaded"

    result = materialize([source, consumer], selection=[consumer], resources={"io_manager": io})

    assert result.asset_value("consumer") == "got preloaded"
    upstream = io.inputs[0].upstream_output
    assert upstream is not None
    assert upstream.asset_key.to_user_string() == "source"
    assert upstream.name == "result"


def test_op_outputs_have_no_asset_key() -> None:
    contexts: list[OutputContextLike] = []

    class Keeper(IOManager):
        def handle_output(self, context: OutputContextLike, obj: Any) -> None:
            contexts.append(context)

        def load_input(self, context: InputContextLike) -> Any:
            raise AssertionError("nothing to load")

    @op
    def plain() -> int:
        return 1

    @job(resource_defs={"io_manager": Keeper()})
    def kept() -> None:
        plain()

    kept.execute_in_process()
    [context] = contexts
    assert not context.has_asset_key
    with pytest.raises(InvalidInvocationError, match="output 'result' of step 'plain' is not an"):
        _ = context.asset_key


def test_io_manager_key_routes_each_asset() -> None:
    @asset(io_manager_key="archive")
    def archived() -> int:
        return 3

    @asset
    def uses_archived(archived: int) -> int:
        return archived + 1

    default, archive = Recording(), Recording()
    materialize([archived, uses_archived], resources={"io_manager": default, "archive": archive})

    assert archive.values == {"archived": 3}
    assert default.values == {"uses_archived": 4}
    assert [c.asset_key.to_user_string() for c in archive.inputs] == ["archived"]


def test_missing_io_manager_key_is_reported_before_the_run() -> None:
    @asset(io_manager_key="archive")
    def archived() -> int:
        return 3

    with pytest.raises(DefinitionError) as info:
        materialize([archived], resources={"io_manager": Recording()})
    assert str(info.value) == (
        "asset 'archived' requires resource 'archive', which materialize() of asset 'archived' "
        "does not provide. Pass it: resources={'archive': ...}."
    )


def test_function_style_io_manager_with_config() -> None:
    built: list[str] = []

    @io_manager(config_schema={"prefix": str})
    def prefixed_memory(context: InitResourceContext) -> IOManager:
        built.append(context.resource_config["prefix"])
        return Recording()

    result = materialize(
        [source],
        resources={"io_manager": prefixed_memory},
        run_config={"resources": {"io_manager": {"config": {"prefix": "tmp"}}}},
    )
    assert result.success
    assert built == ["tmp"]


def test_failing_handle_output_names_the_asset_and_io_manager() -> None:
    class Broken(IOManager):
        def handle_output(self, context: OutputContextLike, obj: Any) -> None:
            raise OSError("disk full")

        def load_input(self, context: InputContextLike) -> Any:
            raise AssertionError("not reached")

    result = materialize([source], resources={"io_manager": Broken()}, raise_on_error=False)

    error = result.step_error("source")
    assert isinstance(error, UserCodeError)
    assert str(error) == (
        "asset 'source': IO manager 'io_manager' failed to store output 'result': "
        "OSError: disk full"
    )
    assert isinstance(error.__cause__, OSError)
    assert result.get_asset_materialization_events() == []


def test_materialize_result_skips_the_io_manager() -> None:
    @asset
    def self_stored() -> MaterializeResult:
        return MaterializeResult(metadata={"rows": 2})

    io = Recording()
    result = materialize([self_stored], resources={"io_manager": io})

    assert io.outputs == []
    assert io.values == {}
    [event] = result.get_asset_materialization_events()
    assert event.materialization.metadata["rows"].value == 2
