"""knoll: an asset-centric data orchestrator.

Declare the assets your platform produces as Python functions, then materialize them locally
or on a schedule. This module is the public API; everything else is internal.

Every public name is loaded from its defining module on first use (``knoll.asset``,
``from knoll import asset``), so that ``import knoll`` loads only what a program touches: a
script that declares assets does not pay for schedules, partitions, the execution layer or
the instance until it uses them.
"""

from typing import TYPE_CHECKING, Any

from knoll.defs.runtime import install_runtime_loader as _install_runtime_loader

if TYPE_CHECKING:
    from knoll.codeloc.client import CodeServerClient as CodeServerClient
    from knoll.codeloc.snapshot import definitions_snapshot as definitions_snapshot
    from knoll.codeloc.snapshot import definitions_snapshot_json as definitions_snapshot_json
    from knoll.codeloc.snapshot import snapshot_id as snapshot_id
    from knoll.codeloc.workspace import Workspace as Workspace
    from knoll.codeloc.workspace import WorkspaceProcesses as WorkspaceProcesses
    from knoll.codeloc.workspace import load_workspace as load_workspace
    from knoll.codeloc.workspace import start_workspace as start_workspace
    from knoll.defs.alerts import (
        make_email_on_run_failure_sensor as make_email_on_run_failure_sensor,
    )
    from knoll.defs.alerts import (
        make_webhook_on_run_failure_sensor as make_webhook_on_run_failure_sensor,
    )
    from knoll.defs.asset import AssetOut as AssetOut
    from knoll.defs.asset import AssetsDefinition as AssetsDefinition
    from knoll.defs.asset import asset as asset
    from knoll.defs.asset_graph import AssetGraph as AssetGraph
    from knoll.defs.asset_sensor import AssetSensorDefinition as AssetSensorDefinition
    from knoll.defs.asset_sensor import asset_sensor as asset_sensor
    from knoll.defs.asset_spec import AssetDep as AssetDep
    from knoll.defs.asset_spec import AssetIn as AssetIn
    from knoll.defs.asset_spec import AssetSpec as AssetSpec
    from knoll.defs.automation import AutomationCondition as AutomationCondition
    from knoll.defs.automation import AutomationContext as AutomationContext
    from knoll.defs.automation import AutomationResult as AutomationResult
    from knoll.defs.check import AssetCheckEvaluation as AssetCheckEvaluation
    from knoll.defs.check import AssetCheckResult as AssetCheckResult
    from knoll.defs.check import AssetChecksDefinition as AssetChecksDefinition
    from knoll.defs.check import AssetCheckSeverity as AssetCheckSeverity
    from knoll.defs.check import AssetCheckSpec as AssetCheckSpec
    from knoll.defs.check import asset_check as asset_check
    from knoll.defs.check import multi_asset_check as multi_asset_check
    from knoll.defs.config import Config as Config
    from knoll.defs.config import PermissiveConfig as PermissiveConfig
    from knoll.defs.config_mapping import ConfigMapping as ConfigMapping
    from knoll.defs.config_mapping import config_mapping as config_mapping
    from knoll.defs.config_schema import Array as Array
    from knoll.defs.config_schema import Field as Field
    from knoll.defs.config_schema import Map as Map
    from knoll.defs.config_schema import Noneable as Noneable
    from knoll.defs.config_schema import Permissive as Permissive
    from knoll.defs.config_schema import ScalarUnion as ScalarUnion
    from knoll.defs.config_schema import Selector as Selector
    from knoll.defs.config_schema import Shape as Shape
    from knoll.defs.data_version import DataVersion as DataVersion
    from knoll.defs.definitions import Definitions as Definitions
    from knoll.defs.definitions import LazyDefinitions as LazyDefinitions
    from knoll.defs.definitions import definitions as definitions
    from knoll.defs.dynamic import DynamicOut as DynamicOut
    from knoll.defs.dynamic import DynamicOutput as DynamicOutput
    from knoll.defs.env_var import EnvVar as EnvVar
    from knoll.defs.event_filters import AssetRecordsFilter as AssetRecordsFilter
    from knoll.defs.executor import ExecutorDefinition as ExecutorDefinition
    from knoll.defs.executor import in_process_executor as in_process_executor
    from knoll.defs.executor import multiprocess_executor as multiprocess_executor
    from knoll.defs.freshness import FreshnessPolicy as FreshnessPolicy
    from knoll.defs.graph import GraphDefinition as GraphDefinition
    from knoll.defs.graph import GraphOut as GraphOut
    from knoll.defs.graph import graph as graph
    from knoll.defs.graph import job as job
    from knoll.defs.graph_asset import graph_asset as graph_asset
    from knoll.defs.graph_asset import graph_multi_asset as graph_multi_asset
    from knoll.defs.hook import HookDefinition as HookDefinition
    from knoll.defs.hook import failure_hook as failure_hook
    from knoll.defs.hook import success_hook as success_hook
    from knoll.defs.io_manager import IOManager as IOManager
    from knoll.defs.io_manager import IOManagerDefinition as IOManagerDefinition
    from knoll.defs.io_manager import io_manager as io_manager
    from knoll.defs.job import JobDefinition as JobDefinition
    from knoll.defs.job import UnresolvedAssetJobDefinition as UnresolvedAssetJobDefinition
    from knoll.defs.job import define_asset_job as define_asset_job
    from knoll.defs.keys import AssetCheckKey as AssetCheckKey
    from knoll.defs.keys import AssetKey as AssetKey
    from knoll.defs.logger import get_knoll_logger as get_knoll_logger
    from knoll.defs.metadata import MetadataValue as MetadataValue
    from knoll.defs.metadata import TableColumn as TableColumn
    from knoll.defs.metadata import TableColumnConstraints as TableColumnConstraints
    from knoll.defs.metadata import TableColumnDep as TableColumnDep
    from knoll.defs.metadata import TableColumnLineage as TableColumnLineage
    from knoll.defs.metadata import TableRecord as TableRecord
    from knoll.defs.metadata import TableSchema as TableSchema
    from knoll.defs.module_loading import (
        load_asset_checks_from_current_module as load_asset_checks_from_current_module,
    )
    from knoll.defs.module_loading import (
        load_asset_checks_from_modules as load_asset_checks_from_modules,
    )
    from knoll.defs.module_loading import (
        load_asset_checks_from_package_module as load_asset_checks_from_package_module,
    )
    from knoll.defs.module_loading import (
        load_asset_checks_from_package_name as load_asset_checks_from_package_name,
    )
    from knoll.defs.module_loading import (
        load_assets_from_current_module as load_assets_from_current_module,
    )
    from knoll.defs.module_loading import load_assets_from_modules as load_assets_from_modules
    from knoll.defs.module_loading import (
        load_assets_from_package_module as load_assets_from_package_module,
    )
    from knoll.defs.module_loading import (
        load_assets_from_package_name as load_assets_from_package_name,
    )
    from knoll.defs.multi_asset import multi_asset as multi_asset
    from knoll.defs.multi_asset_sensor import (
        MultiAssetSensorDefinition as MultiAssetSensorDefinition,
    )
    from knoll.defs.multi_asset_sensor import (
        MultiAssetSensorEvaluationContext as MultiAssetSensorEvaluationContext,
    )
    from knoll.defs.multi_asset_sensor import (
        build_multi_asset_sensor_context as build_multi_asset_sensor_context,
    )
    from knoll.defs.multi_asset_sensor import multi_asset_sensor as multi_asset_sensor
    from knoll.defs.observable import observable_source_asset as observable_source_asset
    from knoll.defs.op import In as In
    from knoll.defs.op import Nothing as Nothing
    from knoll.defs.op import OpDefinition as OpDefinition
    from knoll.defs.op import Out as Out
    from knoll.defs.op import op as op
    from knoll.defs.output import AssetMaterialization as AssetMaterialization
    from knoll.defs.output import AssetObservation as AssetObservation
    from knoll.defs.output import ExpectationResult as ExpectationResult
    from knoll.defs.output import MaterializeResult as MaterializeResult
    from knoll.defs.output import Output as Output
    from knoll.defs.params import ResourceParam as ResourceParam
    from knoll.defs.partitioned_schedule import (
        build_schedule_from_partitioned_job as build_schedule_from_partitioned_job,
    )
    from knoll.defs.partitions import (
        AddDynamicPartitionsRequest as AddDynamicPartitionsRequest,
    )
    from knoll.defs.partitions import AllPartitionMapping as AllPartitionMapping
    from knoll.defs.partitions import DailyPartitionsDefinition as DailyPartitionsDefinition
    from knoll.defs.partitions import (
        DeleteDynamicPartitionsRequest as DeleteDynamicPartitionsRequest,
    )
    from knoll.defs.partitions import (
        DynamicPartitionsDefinition as DynamicPartitionsDefinition,
    )
    from knoll.defs.partitions import DynamicPartitionsStore as DynamicPartitionsStore
    from knoll.defs.partitions import (
        HourlyPartitionsDefinition as HourlyPartitionsDefinition,
    )
    from knoll.defs.partitions import IdentityPartitionMapping as IdentityPartitionMapping
    from knoll.defs.partitions import (
        InMemoryDynamicPartitionsStore as InMemoryDynamicPartitionsStore,
    )
    from knoll.defs.partitions import LastPartitionMapping as LastPartitionMapping
    from knoll.defs.partitions import (
        MonthlyPartitionsDefinition as MonthlyPartitionsDefinition,
    )
    from knoll.defs.partitions import MultiPartitionKey as MultiPartitionKey
    from knoll.defs.partitions import MultiPartitionsDefinition as MultiPartitionsDefinition
    from knoll.defs.partitions import (
        MultiToSingleDimensionPartitionMapping as MultiToSingleDimensionPartitionMapping,
    )
    from knoll.defs.partitions import PartitionKeyRange as PartitionKeyRange
    from knoll.defs.partitions import PartitionMapping as PartitionMapping
    from knoll.defs.partitions import PartitionsDefinition as PartitionsDefinition
    from knoll.defs.partitions import StaticPartitionMapping as StaticPartitionMapping
    from knoll.defs.partitions import (
        StaticPartitionsDefinition as StaticPartitionsDefinition,
    )
    from knoll.defs.partitions import TimeWindow as TimeWindow
    from knoll.defs.partitions import (
        TimeWindowPartitionMapping as TimeWindowPartitionMapping,
    )
    from knoll.defs.partitions import (
        TimeWindowPartitionsDefinition as TimeWindowPartitionsDefinition,
    )
    from knoll.defs.partitions import (
        WeeklyPartitionsDefinition as WeeklyPartitionsDefinition,
    )
    from knoll.defs.partitions.partitioned_config import Partition as Partition
    from knoll.defs.partitions.partitioned_config import PartitionedConfig as PartitionedConfig
    from knoll.defs.partitions.partitioned_config import (
        daily_partitioned_config as daily_partitioned_config,
    )
    from knoll.defs.partitions.partitioned_config import (
        dynamic_partitioned_config as dynamic_partitioned_config,
    )
    from knoll.defs.partitions.partitioned_config import (
        hourly_partitioned_config as hourly_partitioned_config,
    )
    from knoll.defs.partitions.partitioned_config import (
        monthly_partitioned_config as monthly_partitioned_config,
    )
    from knoll.defs.partitions.partitioned_config import partitioned_config as partitioned_config
    from knoll.defs.partitions.partitioned_config import (
        static_partitioned_config as static_partitioned_config,
    )
    from knoll.defs.partitions.partitioned_config import (
        weekly_partitioned_config as weekly_partitioned_config,
    )
    from knoll.defs.policies import BackfillPolicy as BackfillPolicy
    from knoll.defs.policies import Backoff as Backoff
    from knoll.defs.policies import Jitter as Jitter
    from knoll.defs.policies import RetryPolicy as RetryPolicy
    from knoll.defs.resource import ConfigurableIOManager as ConfigurableIOManager
    from knoll.defs.resource import ConfigurableIOManagerFactory as ConfigurableIOManagerFactory
    from knoll.defs.resource import ConfigurableResource as ConfigurableResource
    from knoll.defs.resource import ResourceDependency as ResourceDependency
    from knoll.defs.resource_binding import with_resources as with_resources
    from knoll.defs.resource_definition import InitResourceContext as InitResourceContext
    from knoll.defs.resource_definition import ResourceDefinition as ResourceDefinition
    from knoll.defs.resource_definition import (
        build_init_resource_context as build_init_resource_context,
    )
    from knoll.defs.resource_definition import resource as resource
    from knoll.defs.run_config import RunConfig as RunConfig
    from knoll.defs.run_request import RunRequest as RunRequest
    from knoll.defs.run_request import SensorResult as SensorResult
    from knoll.defs.run_request import SkipReason as SkipReason
    from knoll.defs.run_status_sensor import RunFailureSensorContext as RunFailureSensorContext
    from knoll.defs.run_status_sensor import RunStatusSensorContext as RunStatusSensorContext
    from knoll.defs.run_status_sensor import RunStatusSensorDefinition as RunStatusSensorDefinition
    from knoll.defs.run_status_sensor import (
        build_run_status_sensor_context as build_run_status_sensor_context,
    )
    from knoll.defs.run_status_sensor import run_failure_sensor as run_failure_sensor
    from knoll.defs.run_status_sensor import run_status_sensor as run_status_sensor
    from knoll.defs.schedule import DefaultScheduleStatus as DefaultScheduleStatus
    from knoll.defs.schedule import ScheduleDefinition as ScheduleDefinition
    from knoll.defs.schedule import ScheduleEvaluationContext as ScheduleEvaluationContext
    from knoll.defs.schedule import build_schedule_context as build_schedule_context
    from knoll.defs.schedule import schedule as schedule
    from knoll.defs.selection import AssetSelection as AssetSelection
    from knoll.defs.sensor import DefaultSensorStatus as DefaultSensorStatus
    from knoll.defs.sensor import SensorDefinition as SensorDefinition
    from knoll.defs.sensor import SensorEvaluationContext as SensorEvaluationContext
    from knoll.defs.sensor import build_sensor_context as build_sensor_context
    from knoll.defs.sensor import sensor as sensor
    from knoll.defs.spec_mapping import map_asset_specs as map_asset_specs
    from knoll.errors import AlertDeliveryError as AlertDeliveryError
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
    from knoll.errors import RequestRefusedError as RequestRefusedError
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
    from knoll.execution.hooks import HookContext as HookContext
    from knoll.execution.io_managers import FilesystemIOManager as FilesystemIOManager
    from knoll.execution.io_managers import InMemoryIOManager as InMemoryIOManager
    from knoll.execution.io_managers import fs_io_manager as fs_io_manager
    from knoll.execution.io_managers import mem_io_manager as mem_io_manager
    from knoll.execution.reexecution import ReexecutionOptions as ReexecutionOptions
    from knoll.execution.reexecution import execute_job as execute_job
    from knoll.execution.result import ExecuteInProcessResult as ExecuteInProcessResult
    from knoll.execution.run import Run as Run
    from knoll.execution.run import RunStatus as RunStatus
    from knoll.execution.upath_io_manager import UPathIOManager as UPathIOManager
    from knoll.instance import Instance as Instance
    from knoll.instance.automation import (
        EvaluateAutomationConditionsResult as EvaluateAutomationConditionsResult,
    )
    from knoll.instance.automation import (
        evaluate_automation_conditions as evaluate_automation_conditions,
    )
    from knoll.instance.event_log import EventLogEntry as EventLogEntry
    from knoll.instance.event_log import EventLogRecord as EventLogRecord
    from knoll.instance.event_log import EventRecordsResult as EventRecordsResult
    from knoll.instance.event_log import (
        RunStatusChangeRecordsFilter as RunStatusChangeRecordsFilter,
    )
    from knoll.instance.heartbeats import RunHeartbeat as RunHeartbeat
    from knoll.instance.launcher import LaunchRequest as LaunchRequest
    from knoll.instance.launcher import RunLauncher as RunLauncher
    from knoll.storage.base import DaemonHeartbeat as DaemonHeartbeat
    from knoll.storage.base import Lease as Lease
    from knoll.storage.base import PartitionStatus as PartitionStatus
    from knoll.storage.base import RunsFilter as RunsFilter
    from knoll.testing import build_asset_context as build_asset_context
    from knoll.testing import build_hook_context as build_hook_context
    from knoll.testing import build_input_context as build_input_context
    from knoll.testing import build_op_context as build_op_context
    from knoll.testing import build_output_context as build_output_context
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
    "knoll.defs.alerts": (
        "make_email_on_run_failure_sensor",
        "make_webhook_on_run_failure_sensor",
    ),
    "knoll.defs.asset": (
        "AssetOut",
        "AssetsDefinition",
        "asset",
    ),
    "knoll.defs.asset_graph": ("AssetGraph",),
    "knoll.defs.asset_spec": (
        "AssetDep",
        "AssetIn",
        "AssetSpec",
    ),
    "knoll.defs.check": (
        "AssetCheckEvaluation",
        "AssetCheckResult",
        "AssetCheckSeverity",
        "AssetCheckSpec",
        "AssetChecksDefinition",
        "asset_check",
        "multi_asset_check",
    ),
    "knoll.defs.config": (
        "Config",
        "PermissiveConfig",
    ),
    "knoll.defs.config_mapping": ("ConfigMapping", "config_mapping"),
    "knoll.defs.config_schema": (
        "Array",
        "Field",
        "Map",
        "Noneable",
        "Permissive",
        "ScalarUnion",
        "Selector",
        "Shape",
    ),
    "knoll.defs.data_version": ("DataVersion",),
    "knoll.defs.definitions": (
        "Definitions",
        "LazyDefinitions",
        "definitions",
    ),
    "knoll.defs.env_var": ("EnvVar",),
    "knoll.defs.executor": (
        "ExecutorDefinition",
        "in_process_executor",
        "multiprocess_executor",
    ),
    "knoll.defs.freshness": ("FreshnessPolicy",),
    "knoll.defs.graph": (
        "GraphDefinition",
        "GraphOut",
        "graph",
        "job",
    ),
    "knoll.defs.io_manager": (
        "IOManager",
        "IOManagerDefinition",
        "io_manager",
    ),
    "knoll.defs.job": (
        "JobDefinition",
        "UnresolvedAssetJobDefinition",
        "define_asset_job",
    ),
    "knoll.defs.graph_asset": (
        "graph_asset",
        "graph_multi_asset",
    ),
    "knoll.defs.keys": (
        "AssetCheckKey",
        "AssetKey",
    ),
    "knoll.defs.logger": ("get_knoll_logger",),
    "knoll.defs.metadata": (
        "MetadataValue",
        "TableColumn",
        "TableColumnConstraints",
        "TableColumnDep",
        "TableColumnLineage",
        "TableRecord",
        "TableSchema",
    ),
    "knoll.defs.multi_asset": ("multi_asset",),
    "knoll.defs.multi_asset_sensor": (
        "MultiAssetSensorDefinition",
        "MultiAssetSensorEvaluationContext",
        "build_multi_asset_sensor_context",
        "multi_asset_sensor",
    ),
    "knoll.defs.dynamic": ("DynamicOut", "DynamicOutput"),
    "knoll.defs.op": (
        "In",
        "Nothing",
        "OpDefinition",
        "Out",
        "op",
    ),
    "knoll.defs.output": (
        "AssetMaterialization",
        "AssetObservation",
        "ExpectationResult",
        "MaterializeResult",
        "Output",
    ),
    "knoll.defs.params": ("ResourceParam",),
    "knoll.defs.partitions": (
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
    "knoll.defs.partitions.partitioned_config": (
        "Partition",
        "PartitionedConfig",
        "daily_partitioned_config",
        "dynamic_partitioned_config",
        "hourly_partitioned_config",
        "monthly_partitioned_config",
        "partitioned_config",
        "static_partitioned_config",
        "weekly_partitioned_config",
    ),
    "knoll.defs.partitioned_schedule": ("build_schedule_from_partitioned_job",),
    "knoll.defs.automation": (
        "AutomationCondition",
        "AutomationContext",
        "AutomationResult",
    ),
    "knoll.defs.policies": (
        "BackfillPolicy",
        "Backoff",
        "Jitter",
        "RetryPolicy",
    ),
    "knoll.defs.resource": (
        "ConfigurableIOManagerFactory",
        "ConfigurableIOManager",
        "ConfigurableResource",
        "ResourceDependency",
    ),
    "knoll.defs.resource_definition": (
        "InitResourceContext",
        "ResourceDefinition",
        "build_init_resource_context",
        "resource",
    ),
    "knoll.defs.run_config": ("RunConfig",),
    "knoll.defs.run_request": (
        "RunRequest",
        "SensorResult",
        "SkipReason",
    ),
    "knoll.defs.schedule": (
        "DefaultScheduleStatus",
        "ScheduleDefinition",
        "ScheduleEvaluationContext",
        "build_schedule_context",
        "schedule",
    ),
    "knoll.defs.selection": ("AssetSelection",),
    "knoll.defs.spec_mapping": ("map_asset_specs",),
    "knoll.defs.asset_sensor": (
        "AssetSensorDefinition",
        "asset_sensor",
    ),
    "knoll.defs.event_filters": ("AssetRecordsFilter",),
    "knoll.defs.run_status_sensor": (
        "RunFailureSensorContext",
        "RunStatusSensorContext",
        "RunStatusSensorDefinition",
        "build_run_status_sensor_context",
        "run_failure_sensor",
        "run_status_sensor",
    ),
    "knoll.instance.event_log": (
        "EventLogEntry",
        "EventLogRecord",
        "EventRecordsResult",
        "RunStatusChangeRecordsFilter",
    ),
    "knoll.defs.sensor": (
        "DefaultSensorStatus",
        "SensorDefinition",
        "SensorEvaluationContext",
        "build_sensor_context",
        "sensor",
    ),
    "knoll.errors": (
        "AlertDeliveryError",
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
        "RequestRefusedError",
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
        "mem_io_manager",
        "fs_io_manager",
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
    "knoll.instance.automation": (
        "EvaluateAutomationConditionsResult",
        "evaluate_automation_conditions",
    ),
    "knoll.instance.heartbeats": ("RunHeartbeat",),
    "knoll.instance.launcher": (
        "LaunchRequest",
        "RunLauncher",
    ),
    "knoll.storage.base": (
        "DaemonHeartbeat",
        "Lease",
        "PartitionStatus",
        "RunsFilter",
    ),
    "knoll.testing": (
        "build_hook_context",
        "build_output_context",
        "build_input_context",
        "build_asset_context",
        "build_op_context",
        "materialize",
        "materialize_to_memory",
    ),
    "knoll.defs.module_loading": (
        "load_asset_checks_from_current_module",
        "load_asset_checks_from_modules",
        "load_asset_checks_from_package_module",
        "load_asset_checks_from_package_name",
        "load_assets_from_current_module",
        "load_assets_from_modules",
        "load_assets_from_package_module",
        "load_assets_from_package_name",
    ),
    "knoll.defs.observable": ("observable_source_asset",),
    "knoll.execution.upath_io_manager": ("UPathIOManager",),
    "knoll.defs.hook": (
        "success_hook",
        "failure_hook",
        "HookDefinition",
    ),
    "knoll.execution.hooks": ("HookContext",),
    "knoll.defs.resource_binding": ("with_resources",),
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
