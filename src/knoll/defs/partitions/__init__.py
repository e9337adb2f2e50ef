"""Partitions: slices of an asset (days, regions, customers) and how they map across assets."""

from knoll.defs.partitions.base import PartitionKeyRange as PartitionKeyRange
from knoll.defs.partitions.base import PartitionsDefinition as PartitionsDefinition
from knoll.defs.partitions.base import TimeWindow as TimeWindow
from knoll.defs.partitions.dynamic import (
    AddDynamicPartitionsRequest as AddDynamicPartitionsRequest,
)
from knoll.defs.partitions.dynamic import (
    DeleteDynamicPartitionsRequest as DeleteDynamicPartitionsRequest,
)
from knoll.defs.partitions.dynamic import (
    DynamicPartitionsDefinition as DynamicPartitionsDefinition,
)
from knoll.defs.partitions.dynamic import DynamicPartitionsStore as DynamicPartitionsStore
from knoll.defs.partitions.dynamic import (
    InMemoryDynamicPartitionsStore as InMemoryDynamicPartitionsStore,
)
from knoll.defs.partitions.helpers import has_time_window as has_time_window
from knoll.defs.partitions.helpers import partition_keys_in_range as partition_keys_in_range
from knoll.defs.partitions.helpers import (
    time_window_for_partition_key_range as time_window_for_partition_key_range,
)
from knoll.defs.partitions.helpers import (
    time_window_for_partition_keys as time_window_for_partition_keys,
)
from knoll.defs.partitions.infer import infer_partition_mapping as infer_partition_mapping
from knoll.defs.partitions.mapping import AllPartitionMapping as AllPartitionMapping
from knoll.defs.partitions.mapping import (
    IdentityPartitionMapping as IdentityPartitionMapping,
)
from knoll.defs.partitions.mapping import LastPartitionMapping as LastPartitionMapping
from knoll.defs.partitions.mapping import (
    MultiToSingleDimensionPartitionMapping as MultiToSingleDimensionPartitionMapping,
)
from knoll.defs.partitions.mapping import PartitionMapping as PartitionMapping
from knoll.defs.partitions.mapping import StaticPartitionMapping as StaticPartitionMapping
from knoll.defs.partitions.multi import (
    MULTIPARTITION_KEY_DELIMITER as MULTIPARTITION_KEY_DELIMITER,
)
from knoll.defs.partitions.multi import MultiPartitionKey as MultiPartitionKey
from knoll.defs.partitions.multi import (
    MultiPartitionsDefinition as MultiPartitionsDefinition,
)
from knoll.defs.partitions.multi import (
    PartitionDimensionDefinition as PartitionDimensionDefinition,
)
from knoll.defs.partitions.snapshot import (
    partition_mapping_from_snapshot as partition_mapping_from_snapshot,
)
from knoll.defs.partitions.snapshot import (
    partitions_def_from_snapshot as partitions_def_from_snapshot,
)
from knoll.defs.partitions.static import (
    StaticPartitionsDefinition as StaticPartitionsDefinition,
)
from knoll.defs.partitions.time_cadences import (
    DailyPartitionsDefinition as DailyPartitionsDefinition,
)
from knoll.defs.partitions.time_cadences import (
    HourlyPartitionsDefinition as HourlyPartitionsDefinition,
)
from knoll.defs.partitions.time_cadences import (
    MonthlyPartitionsDefinition as MonthlyPartitionsDefinition,
)
from knoll.defs.partitions.time_cadences import (
    WeeklyPartitionsDefinition as WeeklyPartitionsDefinition,
)
from knoll.defs.partitions.time_mapping import (
    TimeWindowPartitionMapping as TimeWindowPartitionMapping,
)
from knoll.defs.partitions.time_window import (
    TimeWindowPartitionsDefinition as TimeWindowPartitionsDefinition,
)
