"""A project with one asset of 100,000 daily partitions (from 1750), for large backfills."""

from datetime import date, timedelta

from knoll import DailyPartitionsDefinition, Definitions, asset

START = date(1750, 1, 1)
PARTITIONS = 100_000
days = DailyPartitionsDefinition(
    start_date=START.isoformat(), end_date=(START + timedelta(days=PARTITIONS)).isoformat()
)


@asset(partitions_def=days)
def history() -> int:
    return 1


defs = Definitions(assets=[history])
