"""`knoll definitions validate` warns of near-miss dependencies; `asset list` shows externals."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.cli.helpers import knoll

SHOP = textwrap.dedent(
    """
    from knoll import Definitions, asset

    @asset
    def customers() -> list[str]:
        return ["ana", "bo"]

    @asset(deps=["custmers", "crm_export"])
    def mailing_list() -> int:
        return 2

    defs = Definitions(assets=[customers, mailing_list])
    """
)


def test_validate_prints_a_warning_and_succeeds(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(SHOP)
    done = knoll("definitions", "validate", "-m", "shop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "warning: asset 'mailing_list' depends on 'custmers', which no definition provides, so "
        "it is an external asset; did you mean 'customers'? Fix the key, or declare "
        "AssetSpec('custmers') in Definitions(assets=...) to silence this warning."
    )
    assert done.stdout.strip() == "ok: 4 assets, 0 checks, 0 jobs, 0 schedules, 0 sensors"


def test_asset_list_shows_undeclared_dependencies_as_external(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(SHOP)
    done = knoll("asset", "list", "-m", "shop", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = {line.split("  ")[0] for line in done.stdout.splitlines()}
    assert {"crm_export (external)", "custmers (external)", "customers", "mailing_list"} <= lines


def test_validate_warns_of_a_check_on_a_near_miss_key(tmp_path: Path) -> None:
    (tmp_path / "checks.py").write_text(
        textwrap.dedent(
            """
            from knoll import AssetCheckResult, Definitions, asset, asset_check

            @asset
            def invoices() -> int:
                return 3

            @asset_check(asset="invoice")
            def not_empty() -> AssetCheckResult:
                return AssetCheckResult(passed=True)

            defs = Definitions(assets=[invoices], asset_checks=[not_empty])
            """
        )
    )
    done = knoll("definitions", "validate", "-m", "checks", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "warning: asset check 'invoice:not_empty' checks 'invoice', which no definition "
        "provides, so it is an external asset; did you mean 'invoices'? Fix the key, or declare "
        "AssetSpec('invoice') in Definitions(assets=...) to silence this warning."
    )
    assert done.stdout.strip() == "ok: 2 assets, 1 checks, 0 jobs, 0 schedules, 0 sensors"
