"""Assets that report metadata: a MaterializeResult without a value, and Output metadata."""

import dagster as dg


@dg.asset
def exported_table() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "row_count": 42,
            "preview": dg.MetadataValue.md("| id |\n|----|\n| 1 |"),
            "source": dg.MetadataValue.url("https://example.org/orders"),
        }
    )


@dg.asset
def scores():
    return dg.Output([3, 5, 8], metadata={"max": 8})


defs = dg.Definitions(assets=[exported_table, scores])
