import dagster as dg


@dg.asset(
    ins={
        "trips": dg.AssetIn(key=["fleet", "trips"]),
        "vehicles": dg.AssetIn(key=["fleet", "vehicles"]),
    }
)
def utilisation(trips: dict[str, float], vehicles: list[str]) -> dict[str, float]:
    return {vehicle: trips.get(vehicle, 0.0) for vehicle in vehicles}


@dg.asset
def idle_vehicles(utilisation: dict[str, float]) -> list[str]:
    return sorted(v for v, km in utilisation.items() if km == 0.0)


@dg.asset_check(asset=utilisation)
def no_negative_km(utilisation: dict[str, float]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=all(km >= 0 for km in utilisation.values()))
