"""An ETL chain in two groups whose values a custom IO manager keeps as JSON files."""

import json
import os

import dagster as dg


class JsonFileIOManager(dg.ConfigurableIOManager):
    base_dir: str

    def _path(self, context) -> str:
        return os.path.join(self.base_dir, *context.asset_key.path) + ".json"

    def handle_output(self, context: dg.OutputContext, obj) -> None:
        os.makedirs(self.base_dir, exist_ok=True)
        with open(self._path(context), "w") as f:
            json.dump(obj, f)

    def load_input(self, context: dg.InputContext):
        with open(self._path(context.upstream_output)) as f:
            return json.load(f)


@dg.asset(group_name="ingest")
def raw_orders() -> list:
    return [
        {"id": 1, "amount": 30, "country": "NL"},
        {"id": 2, "amount": -5, "country": "NL"},
        {"id": 3, "amount": 12, "country": "BE"},
    ]


@dg.asset(group_name="ingest")
def cleaned_orders(raw_orders: list) -> list:
    return [order for order in raw_orders if order["amount"] > 0]


@dg.asset(group_name="report")
def revenue_by_country(cleaned_orders: list) -> dict:
    totals: dict = {}
    for order in cleaned_orders:
        totals[order["country"]] = totals.get(order["country"], 0) + order["amount"]
    return totals


defs = dg.Definitions(
    assets=[raw_orders, cleaned_orders, revenue_by_country],
    resources={"io_manager": JsonFileIOManager(base_dir=os.environ["PORTING_OUTPUT_DIR"])},
)
