"""Partitions: slices of an asset (days, regions, customers) and how they map across assets."""

from knoll.definitions.partitions.base import PartitionKeyRange as PartitionKeyRange
from knoll.definitions.partitions.base import PartitionsDefinition as PartitionsDefinition
from knoll.definitions.partitions.base import TimeWindow as TimeWindow
from knoll.definitions.partitions.dynamic import (
    AddDynamicPartitionsRequest as AddDynamicPartitionsRequest,
)
from knoll.definitions.partitions.dynamic import (
    DeleteDynamicPartitionsRequest as DeleteDynamicPartitionsRequest,
)
from knoll.definitions.partitions.dynamic import (
    DynamicPartitionsDefinition as DynamicPartitionsDefinition,
)
from knoll.definitions.partitions.dynamic import DynamicPartitionsStore as DynamicPartitionsStore
from knoll.definitions.partitions.dynamic import (
    InMemoryDynamicPartitionsStore as InMemoryDynamicPartitionsStore,
)
from knoll.definitions.partitions.helpers import has_time_window as has_time_window
from knoll.definitions.partitions.helpers import partition_keys_in_range as partition_keys_in_range
from knoll.definitions.partitions.helpers import (
    time_window_for_partition_key_range as time_window_for_partition_key_range,
)
from knoll.definitions.partitions.helpers import (
    time_window_for_partition_keys as time_window_for_partition_keys,
)
from knoll.definitions.partitions.infer import infer_partition_mapping as infer_partition_mapping
from knoll.definitions.partitions.mapping import AllPartitionMapping as AllPartitionMapping
from knoll.definitions.partitions.mapping import (
    IdentityPartitionMapping as IdentityPartitionMapping,
)
from knoll.definitions.partitions.mapping import LastPartitionMapping as LastPartitionMapping
from knoll.definitions.partitions.mapping import (
    MultiToSingleDimensionPartitionMapping as MultiToSingleDimensionPartitionMapping,
)
from knoll.definitions.partitions.mapping import PartitionMapping as PartitionMapping
from knoll.definitions.partitions.mapping import StaticPartitionMapping as StaticPartitionMapping
from knoll.definitions.partitions.multi import (
    MULTIPARTITION_KEY_DELIMITER as MULTIPARTITION_KEY_DELIMITER,
)
from knoll.definitions.partitions.multi import MultiPartitionKey as MultiPartitionKey
from knoll.definitions.partitions.multi import (
    MultiPartitionsDefinition as MultiPartitionsDefinition,
)
from knoll.definitions.partitions.multi import (
    PartitionDimensionDefinition as PartitionDimensionDefinition,
)
from knoll.definitions.partitions.snapshot import (
    partition_mapping_from_snapshot as partition_mapping_from_snapshot,
)
from knoll.definitions.partitions.snapshot import (
    partitions_def_from_snapshot as partitions_def_from_snapshot,
)
from knoll.definitions.partitions.static import (
    StaticPartitionsDefinition as StaticPartitionsDefinition,
)
from knoll.definitions.partitions.time_cadences import (
    DailyPartitionsDefinition as DailyPartitionsDefinition,
)
from knoll.definitions.partitions.time_cadences import (
    HourlyPartitionsDefinition as HourlyPartitionsDefinition,
)
from knoll.definitions.partitions.time_cadences import (
    MonthlyPartitionsDefinition as MonthlyPartitionsDefinition,
)
from knoll.definitions.partitions.time_cadences import (
    WeeklyPartitionsDefinition as WeeklyPartitionsDefinition,
)
from knoll.definitions.partitions.time_mapping import (
    TimeWindowPartitionMapping as TimeWindowPartitionMapping,
)
from knoll.definitions.partitions.time_window import (
    TimeWindowPartitionsDefinition as TimeWindowPartitionsDefinition,
)
