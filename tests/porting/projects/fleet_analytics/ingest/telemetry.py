import dagster as dg

PINGS = [
    {"vehicle": "bus-1", "km": 12.5, "minutes": 30},
    {"vehicle": "bus-1", "km": 7.5, "minutes": 20},
    {"vehicle": "van-7", "km": 40.0, "minutes": 55},
]


@dg.asset
def vehicle_pings() -> list[dict]:
    return PINGS


@dg.asset
def trips(vehicle_pings: list[dict]) -> dict[str, float]:
    """Kilometres driven per vehicle."""
    totals: dict[str, float] = {}
    for ping in vehicle_pings:
        totals[ping["vehicle"]] = totals.get(ping["vehicle"], 0.0) + ping["km"]
    return totals
