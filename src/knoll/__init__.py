"""knoll: an asset-centric data orchestrator.

Declare the assets your platform produces as Python functions, then materialize them locally
or on a schedule. This module is the public API; everything else is internal.

Every public name is loaded from its defining module on first use (``knoll.asset``,
``from knoll import asset``), so that ``import knoll`` loads only what a program touches: a
script that declares assets does not pay for schedules, partitions, the execution layer or
the instance until it uses them.
"""

from typing import TYPE_CHECKING, Any

from knoll.definitions.runtime import install_runtime_loader as _install_runtime_loader

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient as CodeServerClient
    from knoll.codeloc.snapshot import definitions_snapshot as definitions_snapshot
    from knoll.codeloc.snapshot import definitions_snapshot_json as definitions_snapshot_json
    from knoll.codeloc.snapshot import snapshot_id as snapshot_id
    from knoll.codeloc.workspace import Workspace as Workspace
    from knoll.codeloc.workspace import WorkspaceProcesses as WorkspaceProcesses
    from knoll.codeloc.workspace import load_workspace as load_workspace
    from knoll.codeloc.workspace import start_workspace as start_workspace
    from knoll.definitions.asset import AssetOut as AssetOut
    from knoll.definitions.asset import AssetsDefinition as AssetsDefinition
    from knoll.definitions.asset import asset as asset
    from knoll.definitions.asset import load_assets_from_modules as load_assets_from_modules
    from knoll.definitions.asset import multi_asset as multi_asset
    from knoll.definitions.asset_graph import AssetGraph as AssetGraph
    from knoll.definitions.asset_spec import AssetDep as AssetDep
    from knoll.definitions.asset_spec import AssetIn as AssetIn
    from knoll.definitions.asset_spec import AssetSpec as AssetSpec
    from knoll.definitions.check import AssetCheckEvaluation as AssetCheckEvaluation
    from knoll.definitions.check import AssetCheckResult as AssetCheckResult
    from knoll.definitions.check import AssetChecksDefinition as AssetChecksDefinition
    from knoll.definitions.check import AssetCheckSeverity as AssetCheckSeverity
    from knoll.definitions.check import AssetCheckSpec as AssetCheckSpec
    from knoll.definitions.check import asset_check as asset_check
    from knoll.definitions.config import Config as Config
    from knoll.definitions.config import PermissiveConfig as PermissiveConfig
    from knoll.definitions.config_schema import Array as Array
    from knoll.definitions.config_schema import Field as Field
    from knoll.definitions.config_schema import Map as Map
    from knoll.definitions.config_schema import Noneable as Noneable
    from knoll.definitions.config_schema import Permissive as Permissive
    from knoll.definitions.config_schema import ScalarUnion as ScalarUnion
    from knoll.definitions.config_schema import Selector as Selector
    from knoll.definitions.config_schema import Shape as Shape
    from knoll.definitions.data_version import DataVersion as DataVersion
    from knoll.definitions.definitions import Definitions as Definitions
    from knoll.definitions.env_var import EnvVar as EnvVar
    from knoll.definitions.executor import ExecutorDefinition as ExecutorDefinition
    from knoll.definitions.executor import in_process_executor as in_process_executor
    from knoll.definitions.executor import multiprocess_executor as multiprocess_executor
    from knoll.definitions.graph import GraphDefinition as GraphDefinition
    from knoll.definitions.graph import GraphOut as GraphOut
    from knoll.definitions.graph import graph as graph
    from knoll.definitions.graph import job as job
    from knoll.definitions.io_manager import IOManager as IOManager
    from knoll.definitions.io_manager import IOManagerDefinition as IOManagerDefinition
    from knoll.definitions.io_manager import io_manager as io_manager
    from knoll.definitions.job import JobDefinition as JobDefinition
    from knoll.definitions.job import UnresolvedAssetJobDefinition as UnresolvedAssetJobDefinition
    from knoll.definitions.job import define_asset_job as define_asset_job
    from knoll.definitions.keys import AssetCheckKey as AssetCheckKey
    from knoll.definitions.keys import AssetKey as AssetKey
    from knoll.definitions.metadata import MetadataValue as MetadataValue
    from knoll.definitions.metadata import TableColumn as TableColumn
    from knoll.definitions.metadata import TableColumnConstraints as TableColumnConstraints
    from knoll.definitions.metadata import TableRecord as TableRecord
    from knoll.definitions.metadata import TableSchema as TableSchema
    from knoll.definitions.op import In as In
    from knoll.definitions.op import Nothing as Nothing
    from knoll.definitions.op import OpDefinition as OpDefinition
    from knoll.definitions.op import Out as Out
    from knoll.definitions.op import op as op
    from knoll.definitions.output import AssetMaterialization as AssetMaterialization
    from knoll.definitions.output import AssetObservation as AssetObservation
    from knoll.definitions.output import ExpectationResult as ExpectationResult
    from knoll.definitions.output import MaterializeResult as MaterializeResult
    from knoll.definitions.output import Output as Output
    from knoll.definitions.params import ResourceParam as ResourceParam
    from knoll.definitions.partitions import (
        AddDynamicPartitionsRequest as AddDynamicPartitionsRequest,
    )
    from knoll.definitions.partitions import AllPartitionMapping as AllPartitionMapping
    from knoll.definitions.partitions import DailyPartitionsDefinition as DailyPartitionsDefinition
    from knoll.definitions.partitions import (
        DeleteDynamicPartitionsRequest as DeleteDynamicPartitionsRequest,
    )
    from knoll.definitions.partitions import (
        DynamicPartitionsDefinition as DynamicPartitionsDefinition,
    )
    from knoll.definitions.partitions import DynamicPartitionsStore as DynamicPartitionsStore
    from knoll.definitions.partitions import (
        HourlyPartitionsDefinition as HourlyPartitionsDefinition,
    )
    from knoll.definitions.partitions import IdentityPartitionMapping as IdentityPartitionMapping
    from knoll.definitions.partitions import (
        InMemoryDynamicPartitionsStore as InMemoryDynamicPartitionsStore,
    )
    from knoll.definitions.partitions import LastPartitionMapping as LastPartitionMapping
    from knoll.definitions.partitions import (
        MonthlyPartitionsDefinition as MonthlyPartitionsDefinition,
    )
    from knoll.definitions.partitions import MultiPartitionKey as MultiPartitionKey
    from knoll.definitions.partitions import MultiPartitionsDefinition as MultiPartitionsDefinition
    from knoll.definitions.partitions import (
        MultiToSingleDimensionPartitionMapping as MultiToSingleDimensionPartitionMapping,
    )
    from knoll.definitions.partitions import PartitionKeyRange as PartitionKeyRange
    from knoll.definitions.partitions import PartitionMapping as PartitionMapping
    from knoll.definitions.partitions import PartitionsDefinition as PartitionsDefinition
    from knoll.definitions.partitions import StaticPartitionMapping as StaticPartitionMapping
    from knoll.definitions.partitions import (
        StaticPartitionsDefinition as StaticPartitionsDefinition,
    )
    from knoll.definitions.partitions import TimeWindow as TimeWindow
    from knoll.definitions.partitions import (
        TimeWindowPartitionMapping as TimeWindowPartitionMapping,
    )
    from knoll.definitions.partitions import (
        TimeWindowPartitionsDefinition as TimeWindowPartitionsDefinition,
    )
    from knoll.definitions.partitions import (
        WeeklyPartitionsDefinition as WeeklyPartitionsDefinition,
    )
    from knoll.definitions.policies import AutomationCondition as AutomationCondition
    from knoll.definitions.policies import BackfillPolicy as BackfillPolicy
    from knoll.definitions.policies import Backoff as Backoff
    from knoll.definitions.policies import Jitter as Jitter
    from knoll.definitions.policies import RetryPolicy as RetryPolicy
    from knoll.definitions.resource import ConfigurableIOManager as ConfigurableIOManager
    from knoll.definitions.resource import ConfigurableResource as ConfigurableResource
    from knoll.definitions.resource import ResourceDependency as ResourceDependency
    from knoll.definitions.resource_definition import InitResourceContext as InitResourceContext
    from knoll.definitions.resource_definition import ResourceDefinition as ResourceDefinition
    from knoll.definitions.resource_definition import (
        build_init_resource_context as build_init_resource_context,
    )
    from knoll.definitions.resource_definition import resource as resource
    from knoll.definitions.run_config import RunConfig as RunConfig
    from knoll.definitions.run_request import RunRequest as RunRequest
    from knoll.definitions.run_request import SensorResult as SensorResult
    from knoll.definitions.run_request import SkipReason as SkipReason
    from knoll.definitions.schedule import DefaultScheduleStatus as DefaultScheduleStatus
    from knoll.definitions.schedule import ScheduleDefinition as ScheduleDefinition
    from knoll.definitions.schedule import ScheduleEvaluationContext as ScheduleEvaluationContext
    from knoll.definitions.schedule import build_schedule_context as build_schedule_context
    from knoll.definitions.schedule import schedule as schedule
    from knoll.definitions.selection import AssetSelection as AssetSelection
    from knoll.definitions.sensor import DefaultSensorStatus as DefaultSensorStatus
    from knoll.definitions.sensor import SensorDefinition as SensorDefinition
    from knoll.definitions.sensor import SensorEvaluationContext as SensorEvaluationContext
    from knoll.definitions.sensor import build_sensor_context as build_sensor_context
    from knoll.definitions.sensor import sensor as sensor
    from knoll.errors import CodeServerError as CodeServerError
    from knoll.errors import CronError as CronError
    from knoll.errors import CycleError as CycleError
    from knoll.errors import DatabaseVersionError as DatabaseVersionError
    from knoll.errors import DefinitionError as DefinitionError
    from knoll.errors import DuplicateKeyError as DuplicateKeyError
    from knoll.errors import EnvVarNotSetError as EnvVarNotSetError
    from knoll.errors import ExecutionError as ExecutionError
    from knoll.errors import Failure as Failure
    from knoll.errors import InvalidConfigError as InvalidConfigError
    from knoll.errors import InvalidInvocationError as InvalidInvocationError
    from knoll.errors import KnollError as KnollError
    from knoll.errors import PartitionKeyError as PartitionKeyError
    from knoll.errors import RetryRequested as RetryRequested
    from knoll.errors import RunFailedError as RunFailedError
    from knoll.errors import RunStatusError as RunStatusError
    from knoll.errors import SelectionError as SelectionError
    from knoll.errors import SerializationError as SerializationError
    from knoll.errors import StorageError as StorageError
    from knoll.errors import StorageWriteError as StorageWriteError
    from knoll.errors import TypeCheckError as TypeCheckError
    from knoll.errors import UserCodeError as UserCodeError
    from knoll.errors import WorkspaceError as WorkspaceError
    from knoll.execution.context import AssetCheckExecutionContext as AssetCheckExecutionContext
    from knoll.execution.context import AssetExecutionContext as AssetExecutionContext
    from knoll.execution.context import InputContext as InputContext
    from knoll.execution.context import OpExecutionContext as OpExecutionContext
    from knoll.execution.context import OutputContext as OutputContext
    from knoll.execution.events import EventType as EventType
    from knoll.execution.events import RunEvent as RunEvent
    from knoll.execution.io_managers import FilesystemIOManager as FilesystemIOManager
    from knoll.execution.io_managers import InMemoryIOManager as InMemoryIOManager
    from knoll.execution.reexecution import ReexecutionOptions as ReexecutionOptions
    from knoll.execution.reexecution import execute_job as execute_job
    from knoll.execution.result import ExecuteInProcessResult as ExecuteInProcessResult
    from knoll.execution.run import Run as Run
    from knoll.execution.run import RunStatus as RunStatus
    from knoll.instance import Instance as Instance
    from knoll.instance.heartbeats import RunHeartbeat as RunHeartbeat
    from knoll.instance.launcher import LaunchRequest as LaunchRequest
    from knoll.instance.launcher import RunLauncher as RunLauncher
    from knoll.storage.base import PartitionStatus as PartitionStatus
    from knoll.storage.base import RunsFilter as RunsFilter
    from knoll.testing import build_asset_context as build_asset_context
    from knoll.testing import build_op_context as build_op_context
    from knoll.testing import materialize as materialize
    from knoll.testing import materialize_to_memory as materialize_to_memory

__version__ = "0.1.0.dev0"

# The defining module of every public name: ``__getattr__`` imports it on first use.
_NAMES_BY_MODULE: dict[str, tuple[str, ...]] = {
    "knoll.codeloc.client": ("CodeServerClient",),
    "knoll.codeloc.snapshot": (
        "definitions_snapshot",
        "definitions_snapshot_json",
        "snapshot_id",
    ),
    "knoll.codeloc.workspace": (
        "Workspace",
        "WorkspaceProcesses",
        "load_workspace",
        "start_workspace",
    ),
    "knoll.definitions.asset": (
        "AssetOut",
        "AssetsDefinition",
        "asset",
        "load_assets_from_modules",
        "multi_asset",
    ),
    "knoll.definitions.asset_graph": ("AssetGraph",),
    "knoll.definitions.asset_spec": (
        "AssetDep",
        "AssetIn",
        "AssetSpec",
    ),
    "knoll.definitions.check": (
        "AssetCheckEvaluation",
        "AssetCheckResult",
        "AssetCheckSeverity",
        "AssetCheckSpec",
        "AssetChecksDefinition",
        "asset_check",
    ),
    "knoll.definitions.config": (
        "Config",
        "PermissiveConfig",
    ),
    "knoll.definitions.config_schema": (
        "Array",
        "Field",
        "Map",
        "Noneable",
        "Permissive",
        "ScalarUnion",
        "Selector",
        "Shape",
    ),
    "knoll.definitions.data_version": ("DataVersion",),
    "knoll.definitions.definitions": ("Definitions",),
    "knoll.definitions.env_var": ("EnvVar",),
    "knoll.definitions.executor": (
        "ExecutorDefinition",
        "in_process_executor",
        "multiprocess_executor",
    ),
    "knoll.definitions.graph": (
        "GraphDefinition",
        "GraphOut",
        "graph",
        "job",
    ),
    "knoll.definitions.io_manager": (
        "IOManager",
        "IOManagerDefinition",
        "io_manager",
    ),
    "knoll.definitions.job": (
        "JobDefinition",
        "UnresolvedAssetJobDefinition",
        "define_asset_job",
    ),
    "knoll.definitions.keys": (
        "AssetCheckKey",
        "AssetKey",
    ),
    "knoll.definitions.metadata": (
        "MetadataValue",
        "TableColumn",
        "TableColumnConstraints",
        "TableRecord",
        "TableSchema",
    ),
    "knoll.definitions.op": (
        "In",
        "Nothing",
        "OpDefinition",
        "Out",
        "op",
    ),
    "knoll.definitions.output": (
        "AssetMaterialization",
        "AssetObservation",
        "ExpectationResult",
        "MaterializeResult",
        "Output",
    ),
    "knoll.definitions.params": ("ResourceParam",),
    "knoll.definitions.partitions": (
        "AddDynamicPartitionsRequest",
        "AllPartitionMapping",
        "DailyPartitionsDefinition",
        "DeleteDynamicPartitionsRequest",
        "DynamicPartitionsDefinition",
        "DynamicPartitionsStore",
        "HourlyPartitionsDefinition",
        "IdentityPartitionMapping",
        "InMemoryDynamicPartitionsStore",
        "LastPartitionMapping",
        "MonthlyPartitionsDefinition",
        "MultiPartitionKey",
        "MultiPartitionsDefinition",
        "MultiToSingleDimensionPartitionMapping",
        "PartitionKeyRange",
        "PartitionMapping",
        "PartitionsDefinition",
        "StaticPartitionMapping",
        "StaticPartitionsDefinition",
        "TimeWindow",
        "TimeWindowPartitionMapping",
        "TimeWindowPartitionsDefinition",
        "WeeklyPartitionsDefinition",
    ),
    "knoll.definitions.policies": (
        "AutomationCondition",
        "BackfillPolicy",
        "Backoff",
        "Jitter",
        "RetryPolicy",
    ),
    "knoll.definitions.resource": (
        "ConfigurableIOManager",
        "ConfigurableResource",
        "ResourceDependency",
    ),
    "knoll.definitions.resource_definition": (
        "InitResourceContext",
        "ResourceDefinition",
        "build_init_resource_context",
        "resource",
    ),
    "knoll.definitions.run_config": ("RunConfig",),
    "knoll.definitions.run_request": (
        "RunRequest",
        "SensorResult",
        "SkipReason",
    ),
    "knoll.definitions.schedule": (
        "DefaultScheduleStatus",
        "ScheduleDefinition",
        "ScheduleEvaluationContext",
        "build_schedule_context",
        "schedule",
    ),
    "knoll.definitions.selection": ("AssetSelection",),
    "knoll.definitions.sensor": (
        "DefaultSensorStatus",
        "SensorDefinition",
        "SensorEvaluationContext",
        "build_sensor_context",
        "sensor",
    ),
    "knoll.errors": (
        "CodeServerError",
        "CronError",
        "CycleError",
        "DatabaseVersionError",
        "DefinitionError",
        "DuplicateKeyError",
        "EnvVarNotSetError",
        "ExecutionError",
        "Failure",
        "InvalidConfigError",
        "InvalidInvocationError",
        "KnollError",
        "PartitionKeyError",
        "RetryRequested",
        "RunFailedError",
        "RunStatusError",
        "SelectionError",
        "SerializationError",
        "StorageError",
        "StorageWriteError",
        "TypeCheckError",
        "UserCodeError",
        "WorkspaceError",
    ),
    "knoll.execution.context": (
        "AssetCheckExecutionContext",
        "AssetExecutionContext",
        "InputContext",
        "OpExecutionContext",
        "OutputContext",
    ),
    "knoll.execution.events": (
        "EventType",
        "RunEvent",
    ),
    "knoll.execution.io_managers": (
        "FilesystemIOManager",
        "InMemoryIOManager",
    ),
    "knoll.execution.reexecution": (
        "ReexecutionOptions",
        "execute_job",
    ),
    "knoll.execution.result": ("ExecuteInProcessResult",),
    "knoll.execution.run": (
        "Run",
        "RunStatus",
    ),
    "knoll.instance": ("Instance",),
    "knoll.instance.heartbeats": ("RunHeartbeat",),
    "knoll.instance.launcher": (
        "LaunchRequest",
        "RunLauncher",
    ),
    "knoll.storage.base": (
        "PartitionStatus",
        "RunsFilter",
    ),
    "knoll.testing": (
        "build_asset_context",
        "build_op_context",
        "materialize",
        "materialize_to_memory",
    ),
}
_MODULE_OF: dict[str, str] = {
    name: module for module, names in _NAMES_BY_MODULE.items() for name in names
}


def __getattr__(name: str) -> Any:
    module_name = _MODULE_OF.get(name)
    if module_name is None:
        raise AttributeError(_no_attribute(name))
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def _no_attribute(name: str) -> str:
    message = f"module 'knoll' has no attribute {name!r}"
    if name.startswith("__"):
        return message  # probed by tools (copy, pickle, inspect): no suggestion to compute
    from knoll._utils import did_you_mean

    return f"{message}.{did_you_mean(name, _MODULE_OF)} The public names are in knoll.__all__."


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _load_execution() -> None:
    # The execution layer installs the runtime (direct invocation, execute_in_process) when
    # it is imported; the declarations call this the first time they need it.
    import knoll.execution  # noqa: F401


_install_runtime_loader(_load_execution)

__all__ = [
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
    "UnresolvedAssetJobDefinition",
    "UserCodeError",
    "WeeklyPartitionsDefinition",
    "Workspace",
    "WorkspaceError",
    "WorkspaceProcesses",
    "asset",
    "asset_check",
    "build_asset_context",
    "build_init_resource_context",
    "build_op_context",
    "build_schedule_context",
    "build_sensor_context",
    "define_asset_job",
    "definitions_snapshot",
    "definitions_snapshot_json",
    "execute_job",
    "graph",
    "in_process_executor",
    "io_manager",
    "job",
    "load_assets_from_modules",
    "load_workspace",
    "materialize",
    "materialize_to_memory",
    "multi_asset",
    "multiprocess_executor",
    "op",
    "resource",
    "schedule",
    "sensor",
    "snapshot_id",
    "start_workspace",
]
