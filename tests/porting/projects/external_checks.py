"""Checks of data loaded by other tools: an AssetSpec table and a key only named in deps=."""

import json
import os
from pathlib import Path

import dagster as dg


class LandingIOManager(dg.ConfigurableIOManager):
    """Reads the JSON files the ingest tool drops, and writes the project's own assets."""

    base_dir: str

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        Path(self.base_dir, f"{context.asset_key.path[-1]}.json").write_text(json.dumps(obj))

    def load_input(self, context: dg.InputContext) -> object:
        return json.loads(Path(self.base_dir, f"{context.asset_key.path[-1]}.json").read_text())


raw_orders = dg.AssetSpec("raw_orders", group_name="landing", description="from the ingest tool")


@dg.asset_check(asset=raw_orders.key, blocking=True)
def raw_orders_not_empty(raw_orders: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(raw_orders) > 0, metadata={"rows": len(raw_orders)})


@dg.asset_check(asset="vendor_prices")
def vendor_prices_landed() -> dg.AssetCheckResult:
    path = Path(os.environ["PORTING_OUTPUT_DIR"], "vendor_prices.json")
    return dg.AssetCheckResult(passed=path.exists())


@dg.asset(deps=[raw_orders], group_name="sales")
def order_count() -> int:
    rows = Path(os.environ["PORTING_OUTPUT_DIR"], "raw_orders.json").read_text()
    return len(json.loads(rows))


@dg.asset(deps=["vendor_prices"], group_name="sales")
def price_list() -> dict:
    return {"A": 3}


landing_checks = dg.define_asset_job(
    "landing_checks", selection=dg.AssetSelection.checks_for_assets(raw_orders.key, "vendor_prices")
)

defs = dg.Definitions(
    assets=[raw_orders, order_count, price_list],
    asset_checks=[raw_orders_not_empty, vendor_prices_landed],
    jobs=[landing_checks],
    resources={"io_manager": LandingIOManager(base_dir=os.environ["PORTING_OUTPUT_DIR"])},
)
