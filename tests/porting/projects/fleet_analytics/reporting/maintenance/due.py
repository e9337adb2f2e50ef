import dagster as dg

SERVICE_EVERY_KM = 30.0


@dg.asset
def maintenance_due(utilisation: dict[str, float]) -> list[str]:
    return sorted(v for v, km in utilisation.items() if km >= SERVICE_EVERY_KM)
