"""Checks on an asset: one passes, one warns, one fails with metadata."""

import dagster as dg


@dg.asset
def customers() -> list:
    return [{"id": 1, "email": "a@x.org"}, {"id": 2, "email": None}, {"id": 2, "email": "b@x.org"}]


@dg.asset_check(asset=customers)
def has_rows(customers: list) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=len(customers) > 0)


@dg.asset_check(asset=customers)
def emails_present(customers: list) -> dg.AssetCheckResult:
    missing = sum(1 for c in customers if c["email"] is None)
    return dg.AssetCheckResult(
        passed=missing == 0, severity=dg.AssetCheckSeverity.WARN, metadata={"missing": missing}
    )


@dg.asset_check(asset=customers)
def ids_unique(customers: list) -> dg.AssetCheckResult:
    ids = [c["id"] for c in customers]
    return dg.AssetCheckResult(passed=len(ids) == len(set(ids)), metadata={"rows": len(ids)})


defs = dg.Definitions(assets=[customers], asset_checks=[has_rows, emails_present, ids_unique])
