import dagster as dg


@dg.asset
def vehicles() -> list[str]:
    return ["bus-1", "van-7", "bus-9"]


@dg.asset(deps=[vehicles])
def depots() -> dict[str, str]:
    return {"bus-1": "north", "van-7": "south", "bus-9": "north"}


registry_assets = [vehicles, depots]  # listed as well: loaded once
