import dagster as dg
from fleet_analytics import ingest, quality, reporting


@dg.definitions
def defs() -> dg.Definitions:
    ingest_assets = dg.load_assets_from_package_module(
        ingest, group_name="ingest", key_prefix="fleet"
    )
    report_assets = dg.load_assets_from_package_module(
        reporting, group_name="reporting", key_prefix=["fleet", "reports"]
    )
    checks = [
        *dg.load_asset_checks_from_package_module(quality, asset_key_prefix="fleet"),
        *dg.load_asset_checks_from_package_module(reporting, asset_key_prefix=["fleet", "reports"]),
    ]
    return dg.Definitions(
        assets=[*ingest_assets, *report_assets],
        asset_checks=checks,
        jobs=[
            dg.define_asset_job(
                "fleet_report", selection=dg.AssetSelection.groups("reporting").upstream()
            )
        ],
    )
