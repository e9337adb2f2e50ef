"""Assets built from graphs of ops, and a multi-asset with internal dependencies."""

import dagster as dg


@dg.op
def download_prices() -> list[float]:
    return [10.0, 12.5, 11.0]


@dg.op
def average(prices: list[float]) -> float:
    return sum(prices) / len(prices)


@dg.op(out={"low": dg.Out(), "high": dg.Out()})
def bounds(prices: list[float]):
    return min(prices), max(prices)


@dg.graph_asset(group_name="market")
def average_price() -> float:
    return average(download_prices())


@dg.graph_multi_asset(
    outs={
        "low_price": dg.AssetOut(group_name="market"),
        "high_price": dg.AssetOut(group_name="market"),
    }
)
def price_bounds():
    low, high = bounds(download_prices())
    return {"low_price": low, "high_price": high}


@dg.op
def spread(average_price: float) -> str:
    return f"around {average_price:.1f}"


@dg.graph
def describe(average_price: float) -> str:
    return spread(average_price)


price_text = dg.AssetsDefinition.from_graph(
    describe, keys_by_output_name={"result": dg.AssetKey("price_text")}, group_name="report"
)


@dg.multi_asset(
    outs={"cleaned": dg.AssetOut(), "flagged": dg.AssetOut()},
    internal_asset_deps={"cleaned": set(), "flagged": {dg.AssetKey("cleaned")}},
    compute_kind="pandas",
    group_name="report",
)
def quality():
    yield dg.Output([1, 2], output_name="cleaned")
    yield dg.Output([2], output_name="flagged")


defs = dg.Definitions(assets=[average_price, price_bounds, price_text, quality])
