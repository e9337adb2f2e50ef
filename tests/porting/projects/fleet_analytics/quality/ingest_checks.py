import dagster as dg


@dg.asset_check(asset="trips")
def every_trip_has_km(trips: dict[str, float]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=all(km > 0 for km in trips.values()), metadata={"n": len(trips)}
    )


@dg.asset_check(asset="vehicles", blocking=True)
def vehicles_unique(vehicles: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(set(vehicles)) == len(vehicles))
