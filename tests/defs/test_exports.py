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
    "AlertDeliveryError",
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
    "AssetRecordsFilter",
    "AssetSelection",
    "AssetSensorDefinition",
    "AssetSpec",
    "AssetsDefinition",
    "AutomationCondition",
    "AutomationContext",
    "AutomationResult",
    "BackfillPolicy",
    "Backoff",
    "CodeServerClient",
    "CodeServerError",
    "Config",
    "ConfigMapping",
    "ConfigurableIOManager",
    "ConfigurableIOManagerFactory",
    "ConfigurableResource",
    "CronError",
    "CycleError",
    "DaemonHeartbeat",
    "DailyPartitionsDefinition",
    "DataVersion",
    "DatabaseVersionError",
    "DefaultScheduleStatus",
    "DefaultSensorStatus",
    "DefinitionError",
    "Definitions",
    "DeleteDynamicPartitionsRequest",
    "DuplicateKeyError",
    "DynamicOut",
    "DynamicOutput",
    "DynamicPartitionsDefinition",
    "DynamicPartitionsStore",
    "EnvVar",
    "EnvVarNotSetError",
    "EvaluateAutomationConditionsResult",
    "EventLogEntry",
    "EventLogRecord",
    "EventRecordsResult",
    "EventType",
    "ExecuteInProcessResult",
    "ExecutionError",
    "ExecutorDefinition",
    "ExpectationResult",
    "Failure",
    "Field",
    "FilesystemIOManager",
    "FreshnessPolicy",
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
    "Lease",
    "Map",
    "MaterializeResult",
    "MetadataValue",
    "MonthlyPartitionsDefinition",
    "MultiAssetSensorDefinition",
    "MultiAssetSensorEvaluationContext",
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
    "Partition",
    "PartitionKeyError",
    "PartitionKeyRange",
    "PartitionMapping",
    "PartitionStatus",
    "PartitionedConfig",
    "PartitionsDefinition",
    "Permissive",
    "PermissiveConfig",
    "ReexecutionOptions",
    "RequestRefusedError",
    "ResourceDefinition",
    "ResourceDependency",
    "ResourceParam",
    "RetryPolicy",
    "RetryRequested",
    "Run",
    "RunConfig",
    "RunEvent",
    "RunFailedError",
    "RunFailureSensorContext",
    "RunHeartbeat",
    "RunLauncher",
    "RunRequest",
    "RunStatus",
    "RunStatusChangeRecordsFilter",
    "RunStatusError",
    "RunStatusSensorContext",
    "RunStatusSensorDefinition",
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
    "TableColumnDep",
    "TableColumnLineage",
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
    "asset_sensor",
    "build_asset_context",
    "build_hook_context",
    "build_init_resource_context",
    "build_input_context",
    "build_multi_asset_sensor_context",
    "build_op_context",
    "build_output_context",
    "build_run_status_sensor_context",
    "build_schedule_context",
    "build_schedule_from_partitioned_job",
    "build_sensor_context",
    "config_mapping",
    "daily_partitioned_config",
    "define_asset_job",
    "definitions",
    "definitions_snapshot",
    "definitions_snapshot_json",
    "dynamic_partitioned_config",
    "evaluate_automation_conditions",
    "execute_job",
    "failure_hook",
    "fs_io_manager",
    "get_knoll_logger",
    "graph",
    "graph_asset",
    "graph_multi_asset",
    "hourly_partitioned_config",
    "in_process_executor",
    "io_manager",
    "job",
    "load_asset_checks_from_current_module",
    "load_asset_checks_from_modules",
    "load_asset_checks_from_package_module",
    "load_asset_checks_from_package_name",
    "load_assets_from_current_module",
    "load_assets_from_modules",
    "load_assets_from_package_module",
    "load_assets_from_package_name",
    "load_workspace",
    "make_email_on_run_failure_sensor",
    "make_webhook_on_run_failure_sensor",
    "map_asset_specs",
    "materialize",
    "materialize_to_memory",
    "mem_io_manager",
    "monthly_partitioned_config",
    "multi_asset",
    "multi_asset_check",
    "multi_asset_sensor",
    "multiprocess_executor",
    "observable_source_asset",
    "op",
    "partitioned_config",
    "resource",
    "run_failure_sensor",
    "run_status_sensor",
    "schedule",
    "sensor",
    "snapshot_id",
    "start_workspace",
    "static_partitioned_config",
    "success_hook",
    "weekly_partitioned_config",
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
