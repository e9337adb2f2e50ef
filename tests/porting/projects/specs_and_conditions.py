"""Specs reshaped with replace/merge/map, automation conditions, checks and column lineage."""

import dagster as dg

warehouse_tables = [
    dg.AssetSpec("raw_invoices", group_name="erp"),
    dg.AssetSpec("raw_payments", group_name="erp", tags={"tier": "bronze"}),
]
warehouse_tables = dg.map_asset_specs(
    lambda spec: spec.merge_attributes(tags={"source": "erp"}).replace_attributes(
        owners=["team:finance"]
    ),
    warehouse_tables,
)


@dg.asset(
    deps=["raw_invoices", "raw_payments"],
    group_name="finance",
    automation_condition=dg.AutomationCondition.eager() & ~dg.AutomationCondition.in_progress(),
)
def open_invoices() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        "open_invoices",
        metadata={
            "dagster/column_lineage": dg.TableColumnLineage(
                deps_by_column={
                    "amount_due": [
                        dg.TableColumnDep(
                            asset_key=dg.AssetKey("raw_invoices"), column_name="amount"
                        ),
                        dg.TableColumnDep(
                            asset_key=dg.AssetKey("raw_payments"), column_name="paid"
                        ),
                    ]
                }
            ),
            "rows": 3,
        },
    )


@dg.asset(
    deps=[open_invoices],
    group_name="finance",
    automation_condition=dg.AutomationCondition.on_cron("0 7 * * *"),
)
def dunning_letters() -> None:
    pass


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("has_rows", asset="open_invoices"),
        dg.AssetCheckSpec("all_sent", asset="dunning_letters"),
    ]
)
def finance_checks():
    yield dg.AssetCheckResult(check_name="has_rows", asset_key="open_invoices", passed=True)
    yield dg.AssetCheckResult(check_name="all_sent", asset_key="dunning_letters", passed=False)


@dg.observable_source_asset(group_name="erp")
def exchange_rates():
    return dg.DataVersion("rates-2024-06-03")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*warehouse_tables, open_invoices, dunning_letters, exchange_rates],
        asset_checks=[finance_checks],
        jobs=[
            dg.define_asset_job(
                "finance_job", selection=dg.AssetSelection.groups("finance").without_checks()
            ),
            dg.define_asset_job(
                "finance_checks_job",
                selection=dg.AssetSelection.checks_for_assets(open_invoices, dunning_letters),
            ),
        ],
    )
