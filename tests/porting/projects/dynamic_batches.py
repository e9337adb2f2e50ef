"""An op job that fans out over the upload batches it finds (DynamicOut), cleans and
counts each one in its own step (.map) and fans back in for a summary (.collect)."""

import dagster as dg

UPLOADS = {
    "north_2024": [3, -1, 4, 1],
    "south_2024": [5, 9, -2],
    "east_2024": [],
}


@dg.op(out=dg.DynamicOut(list))
def find_batches(context: dg.OpExecutionContext):
    for name, rows in UPLOADS.items():
        context.log.info(f"found batch {name} with {len(rows)} rows")
        yield dg.DynamicOutput(rows, mapping_key=name)


@dg.op
def drop_negatives(rows: list) -> list:
    return [row for row in rows if row >= 0]


@dg.op
def count_rows(context: dg.OpExecutionContext, rows: list) -> int:
    context.log.info(f"batch {context.get_mapping_key()}: {len(rows)} rows")
    return len(rows)


@dg.op
def summarize(counts: list) -> dict:
    return {"batches": len(counts), "rows": sum(counts), "counts": counts}


@dg.job
def process_uploads():
    counts = find_batches().map(lambda rows: count_rows(drop_negatives(rows)))
    summarize(counts.collect())


defs = dg.Definitions(jobs=[process_uploads])
