from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from knoll.defs.partitions._cadence import Cadence, cadence_from_cron, lookup_zone
from knoll.errors import DefinitionError

CADENCES = [
    Cadence.hourly(15),
    Cadence.daily(6, 30),
    Cadence.weekly(3, 0, 0),
    Cadence.monthly(28, 23, 59),
    cadence_from_cron("*/20 9-17 * * MON-FRI", "test"),
    cadence_from_cron("0 0 1,15 * *", "test"),
]


@pytest.mark.parametrize("cadence", CADENCES, ids=lambda c: c.cron)
def test_floor_inverts_tick(cadence: Cadence) -> None:
    base = cadence.floor(datetime(2024, 1, 1))
    ticks = list(cadence.ticks(base - 50, base + 200))
    assert [i for i, _ in ticks] == list(range(base - 50, base + 201))
    for (index, wall), (_, following) in itertools.pairwise(ticks):
        assert cadence.tick(index) == wall
        assert wall < following
        assert cadence.floor(wall) == index
        assert cadence.floor(wall - timedelta(microseconds=1)) == index - 1
        assert cadence.floor(following - timedelta(microseconds=1)) == index


def test_presets_describe_themselves() -> None:
    assert Cadence.hourly(0).word == "hourly"
    assert Cadence.daily(0, 0).is_plain
    assert not Cadence.daily(6, 0).is_plain
    assert Cadence.weekly(1, 2, 3).day == 1
    assert Cadence.monthly(15, 2, 3).day == 15
    assert (Cadence.monthly(15, 2, 3).hour, Cadence.monthly(15, 2, 3).minute) == (2, 3)
    assert cadence_from_cron("0 */6 * * *", "test").word is None
    assert cadence_from_cron("@hourly", "test") == Cadence.hourly(0)


def test_zone_reads_wall_times_around_clock_changes() -> None:
    zone = lookup_zone("America/New_York", "test")
    # 02:30 does not exist on 2024-03-10: it means the instant clocks jumped (07:00 UTC).
    assert zone.is_gap(datetime(2024, 3, 10, 2, 30))
    assert (
        zone.to_ts(datetime(2024, 3, 10, 2, 30))
        == datetime.fromisoformat("2024-03-10T07:00:00+00:00").timestamp()
    )
    # 01:30 happens twice on 2024-11-03: it means the first pass (05:30 UTC).
    assert not zone.is_gap(datetime(2024, 11, 3, 1, 30))
    assert (
        zone.to_ts(datetime(2024, 11, 3, 1, 30))
        == datetime.fromisoformat("2024-11-03T05:30:00+00:00").timestamp()
    )
    assert lookup_zone(None, "test").name == "UTC"
    with pytest.raises(DefinitionError, match=r"timezone of test must be an IANA name"):
        lookup_zone(5, "test")
