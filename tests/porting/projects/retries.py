"""A flaky asset that succeeds on its third attempt under a retry policy."""

import os

import dagster as dg


@dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))
def flaky_download(context: dg.AssetExecutionContext) -> int:
    marker = os.path.join(os.environ["PORTING_OUTPUT_DIR"], "attempts.txt")
    with open(marker, "a") as f:
        f.write(f"{context.retry_number}\n")
    if context.retry_number < 2:
        raise ConnectionError("the server hung up")
    return 200


@dg.asset
def never_retried() -> int:
    raise dg.Failure(description="bad input file", allow_retries=False)


defs = dg.Definitions(assets=[flaky_download, never_retried])
