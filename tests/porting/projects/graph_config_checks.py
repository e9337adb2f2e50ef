"""Graph-backed assets with config (a dict and a config mapping) and checks their ops compute."""

import dagster as dg


class ExtractConfig(dg.Config):
    table: str
    limit: int = 100


@dg.op
def extract(config: ExtractConfig) -> list[str]:
    return [f"{config.table}:{i}" for i in range(min(config.limit, 3))]


@dg.op
def count_rows(rows: list[str]) -> int:
    return len(rows)


@dg.graph_asset(config={"extract": {"config": {"table": "orders", "limit": 2}}})
def order_rows():
    return count_rows(extract())


@dg.config_mapping(config_schema={"table": str})
def by_table(outer):
    return {"extract": {"config": {"table": outer["table"], "limit": 1}}}


@dg.graph_asset(config=by_table)
def table_rows():
    return count_rows(extract())


@dg.op
def stage() -> list[int]:
    return [3, 1, 2]


@dg.op
def no_negatives(rows: list[int]):
    passed = all(r >= 0 for r in rows)
    return dg.AssetCheckResult(check_name="no_negatives", passed=passed, metadata={"n": len(rows)})


@dg.op
def not_empty(rows: list[int]):
    return dg.AssetCheckResult(check_name="not_empty", passed=bool(rows))


@dg.op(ins={"rows": dg.In(), "checked": dg.In(dg.Nothing)})
def publish(rows: list[int]) -> list[int]:
    return sorted(rows)


@dg.graph_asset(
    check_specs=[
        dg.AssetCheckSpec("no_negatives", asset="scores", blocking=True),
        dg.AssetCheckSpec("not_empty", asset="scores"),
    ]
)
def scores():
    rows = stage()
    checked = no_negatives(rows)
    return {
        "result": publish(rows=rows, checked=checked),
        "scores_no_negatives": checked,
        "scores_not_empty": not_empty(rows),
    }


@dg.op
def stage_right() -> list[int]:
    return []


@dg.graph_multi_asset(
    outs={"left": dg.AssetOut(), "right": dg.AssetOut()},
    check_specs=[dg.AssetCheckSpec("not_empty", asset="right")],
    can_subset=True,
)
def sides():
    right = stage_right()
    return {"left": stage(), "right": right, "right_not_empty": not_empty(right)}


defs = dg.Definitions(assets=[order_rows, table_rows, scores, sides])
