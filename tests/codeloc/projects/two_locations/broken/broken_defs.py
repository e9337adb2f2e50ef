"""A code location that fails to import; the test fixes it and reloads."""

from knoll import Definitions, asset

RATES = {"eur": 1.0}


@asset
def prices() -> float:
    return RATES["eur"]


# the mistake the test fixes: a lookup that fails when the module is imported
FALLBACK = RATES["usd"]

defs = Definitions(assets=[prices])
