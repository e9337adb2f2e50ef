"""The public API: the exact exported names, that each resolves, and that ``import knoll``
stays light (pydantic-based names load on first use)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import knoll

EXPORTED = [
    "AddDynamicPartitionsRequest",
    "AllPartitionMapping",
    "Array",
    "AssetCheckEvaluation",
    "AssetCheckExecutionContext",
    "AssetCheckKey",
    "AssetCheckResult",
    "AssetCheckSeverity",
    "AssetCheckSpec",
    "AssetChecksDefinition",
    "AssetDep",
    "AssetExecutionContext",
    "AssetGraph",
    "AssetIn",
    "AssetKey",
    "AssetMaterialization",
    "AssetObservation",
    "AssetOut",
    "AssetSelection",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "BackfillPolicy",
    "Backoff",
    "CodeServerClient",
    "CodeServerError",
    "Config",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableResource",
    "CronError",
    "CycleError",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DatabaseVersionError",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "DefinitionError",
    "Definitions",
    "DeleteDynamicPartitionsRequest",
    "DuplicateKeyError",
    "DynamicPartitionsDefinition",
    "DynamicPartitionsStore",
    "EnvVar",
    "EnvVarNotSetError",
    "EventType",
    "ExecuteInProcessResult",
    "ExecutionError",
    "ExecutorDefinition",
    "ExpectationResult",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "GraphDefinition",
    "GraphOut",
    "HookContext",
    "HookDefinition",
    "HourlyPartitionsDefinition",
    "IOManager",
    "IOManagerDefinition",
    "IdentityPartitionMapping",
    "In",
    "InMemoryDynamicPartitionsStore",
    "InMemoryIOManager",
    "InitResourceContext",
    "InputContext",
    "Instance",
    "InvalidConfigError",
    "InvalidInvocationError",
    "Jitter",
    "JobDefinition",
    "KnollError",
    "LastPartitionMapping",
    "LaunchRequest",
    "LazyDefinitions",
    "Map",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiPartitionKey",
    "MultiPartitionsDefinition",
    "MultiToSingleDimensionPartitionMapping",
    "Noneable",
    "Nothing",
    "OpDefinition",
    "OpExecutionContext",
    "Out",
    "Output",
    "OutputContext",
    "PartitionKeyError",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionStatus",
    "PartitionsDefinition",
    "Permissive",
    "PermissiveConfig",
    "ReexecutionOptions",
    "ResourceDefinition",
    "ResourceDependency",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "Run",
    "RunConfig",
    "RunEvent",
    "RunFailedError",
    "RunHeartbeat",
    "RunLauncher",
    "RunRequest",
    "RunStatus",
    "RunStatusError",
    "RunsFilter",
    "ScalarUnion",
    "ScheduleDefinition",
    "ScheduleEvaluationContext",
    "SelectionError",
    "Selector",
    "SensorDefinition",
    "SensorEvaluationContext",
    "SensorResult",
    "SerializationError",
    "Shape",
    "SkipReason",
    "StaticPartitionMapping",
    "StaticPartitionsDefinition",
    "StorageError",
    "StorageWriteError",
    "TableColumn",
    "TableColumnConstraints",
    "TableRecord",
    "TableSchema",
    "TimeWindow",
    "TimeWindowPartitionMapping",
    "TimeWindowPartitionsDefinition",
    "TypeCheckError",
    "UPathIOManager",
    "UnresolvedAssetJobDefinition",
    "UserCodeError",
    "WeeklyPartitionsDefinition",
    "Workspace",
    "WorkspaceError",
    "WorkspaceProcesses",
    "asset",
    "asset_check",
    "build_asset_context",
    "build_hook_context",
    "build_init_resource_context",
    "build_input_context",
    "build_op_context",
    "build_output_context",
    "build_schedule_context",
    "build_sensor_context",
    "define_asset_job",
    "definitions",
    "definitions_snapshot",
    "definitions_snapshot_json",
    "execute_job",
    "failure_hook",
    "fs_io_manager",
    "graph",
    "in_process_executor",
    "io_manager",
    "job",
    "load_assets_from_modules",
    "load_workspace",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "multi_asset",
    "multiprocess_executor",
    "op",
    "resource",
    "schedule",
    "sensor",
    "snapshot_id",
    "start_workspace",
    "success_hook",
    "with_resources",
]

HEAVY = ("pydantic", "yaml", "sqlalchemy", "fastapi")


def test_the_exported_names_are_pinned() -> None:
    assert sorted(knoll.__all__) == EXPORTED


def test_all_is_kept_sorted_and_without_duplicates() -> None:
    assert knoll.__all__ == sorted(set(knoll.__all__))


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(knoll, name)
    assert value is not None
    # re-exported from the module that defines it, never from a third-party package
    assert str(getattr(value, "__module__", "")).startswith("knoll."), name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"module 'knoll' has no attribute 'Solid'"):
        getattr(knoll, "Solid")  # noqa: B009


def run_python(code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


def test_import_knoll_does_not_import_heavy_dependencies() -> None:
    out = run_python(
        f"""
        import sys
        import knoll
        print(",".join(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert out == ""


def test_a_lazy_name_loads_its_module_on_first_use() -> None:
    out = run_python(
        """
        import sys
        import knoll
        before = "pydantic" in sys.modules
        config_class = knoll.Config
        print(before, "pydantic" in sys.modules, config_class.__module__)
        """
    )
    assert out == "False True knoll.defs.config"
