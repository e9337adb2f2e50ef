"""Dagster code that logs with get_dagster_logger and catches Dagster's error names."""

import dagster as dg

logger = dg.get_dagster_logger(__name__)


class LimitConfig(dg.Config):
    limit: int


@dg.asset
def limited(config: LimitConfig) -> list:
    logger.info(f"taking {config.limit} rows")
    if config.limit > 10:
        logger.warning("a large limit")
    return list(range(config.limit))


def run_with(limit) -> str:
    """Materialize with the given limit; say which Dagster error (if any) was raised."""
    try:
        dg.materialize([limited], run_config={"ops": {"limited": {"config": {"limit": limit}}}})
    except dg.DagsterInvalidConfigError:
        return "invalid config"
    except dg.DagsterError as e:
        return f"other dagster error: {e}"
    return "ok"


defs = dg.Definitions(assets=[limited])
