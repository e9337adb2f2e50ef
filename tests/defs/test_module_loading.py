"""Loading assets and asset checks from modules and packages, with Dagster's options."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from knoll import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    AutomationCondition,
    BackfillPolicy,
    DefinitionError,
    Definitions,
    load_asset_checks_from_modules,
    load_asset_checks_from_package_module,
    load_asset_checks_from_package_name,
    load_assets_from_modules,
    load_assets_from_package_module,
    load_assets_from_package_name,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
PACKAGE = "knoll_fixture_warehouse"


@pytest.fixture
def warehouse() -> Iterator[ModuleType]:
    """The fixture package, imported the way a user's code location imports it."""
    sys.path.insert(0, str(FIXTURES))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(FIXTURES))
        for name in [
            m
            for m in sys.modules
            if m.startswith(("knoll_fixture_warehouse", "knoll_fixture_broken_pkg"))
        ]:
            del sys.modules[name]


def keys(items: list[AssetsDefinition | AssetSpec]) -> list[str]:
    out: list[str] = []
    for item in items:
        if isinstance(item, AssetSpec):
            out.append(item.key.to_user_string())
        else:
            out.extend(k.to_user_string() for k in item.keys)
    return sorted(out)


def test_package_module_walks_every_submodule_once(warehouse: ModuleType) -> None:
    # clean_events is defined in staging.events and re-exported by staging: found once
    assert keys(load_assets_from_package_module(warehouse)) == ["clean_events", "daily_visits"]
    loaded = load_assets_from_package_module(warehouse, include_specs=True)
    assert keys(loaded) == ["clean_events", "daily_visits", "raw_events"]
    assert keys(load_assets_from_package_name(PACKAGE, include_specs=True)) == keys(loaded)


def test_package_loading_sets_group_prefix_and_policies(warehouse: ModuleType) -> None:
    eager = AutomationCondition.eager()
    loaded = load_assets_from_package_module(
        warehouse,
        key_prefix="warehouse",
        automation_condition=eager,
        backfill_policy=BackfillPolicy.single_run(),
        source_key_prefix="landing",
        include_specs=True,
    )
    assert keys(loaded) == [
        "landing/raw_events",
        "warehouse/clean_events",
        "warehouse/daily_visits",
    ]
    defs = Definitions(assets=loaded)
    graph = defs.get_asset_graph()
    clean = AssetKey(["warehouse", "clean_events"])
    # deps follow both prefixes: onto the source's new key and between the loaded assets
    assert graph.parents(clean) == [AssetKey(["landing", "raw_events"])]
    assert graph.parents(AssetKey(["warehouse", "daily_visits"])) == [clean]
    visits = defs.get_assets_def("warehouse/daily_visits")
    assert visits.backfill_policy == BackfillPolicy.single_run()
    assert visits.specs[0].automation_condition == eager
    assert visits.specs[0].group_name == "marts"


def test_group_name_applies_to_assets_without_a_group(warehouse: ModuleType) -> None:
    staging = importlib.import_module(f"{PACKAGE}.staging")
    (clean,) = load_assets_from_package_module(staging, group_name="staging")
    assert isinstance(clean, AssetsDefinition)
    assert clean.specs[0].group_name == "staging"
    marts = importlib.import_module(f"{PACKAGE}.marts")
    with pytest.raises(DefinitionError, match="it already declares group 'marts'"):
        load_assets_from_package_module(marts, group_name="staging")


def test_loaded_assets_keep_their_function(warehouse: ModuleType) -> None:
    events = [{"agent": "bot"}, {"agent": "firefox"}]
    loaded = load_assets_from_modules([importlib.import_module(f"{PACKAGE}.staging.events")])
    (clean,) = loaded
    assert isinstance(clean, AssetsDefinition)
    assert clean(events) == [{"agent": "firefox"}]


def test_asset_checks_load_from_packages_with_the_asset_prefix(warehouse: ModuleType) -> None:
    (check,) = load_asset_checks_from_package_module(warehouse)
    assert check.key.to_user_string() == "daily_visits:visits_not_negative"
    (prefixed,) = load_asset_checks_from_package_name(PACKAGE, asset_key_prefix="warehouse")
    assert prefixed.asset_key == AssetKey(["warehouse", "daily_visits"])
    assert prefixed.input_keys == {"daily_visits": AssetKey(["warehouse", "daily_visits"])}
    assets = load_assets_from_package_module(warehouse, key_prefix="warehouse", include_specs=True)
    defs = Definitions(assets=assets, asset_checks=[prefixed])
    assert defs.get_asset_graph().has(AssetKey(["warehouse", "daily_visits"]))
    marts = importlib.import_module(f"{PACKAGE}.marts.daily")
    assert load_asset_checks_from_modules([marts]) == [marts.visits_not_negative]


def test_a_module_that_fails_to_import_is_named(warehouse: ModuleType) -> None:
    with pytest.raises(DefinitionError) as info:
        load_assets_from_package_name("knoll_fixture_broken_pkg")
    message = str(info.value)
    assert "could not import module 'knoll_fixture_broken_pkg.broken'" in message
    assert "the warehouse password is not set" in message


def test_bad_arguments_say_what_to_pass() -> None:
    with pytest.raises(DefinitionError, match="no package named 'no_such_warehouse'"):
        load_assets_from_package_name("no_such_warehouse")
    with pytest.raises(DefinitionError, match="expected a module, got str"):
        load_assets_from_modules(["knoll_fixture_warehouse"])  # type: ignore[list-item]
    with pytest.raises(DefinitionError, match="expected a package module, got str"):
        load_assets_from_package_module("knoll_fixture_warehouse")  # type: ignore[arg-type]


def test_current_module_loaders_load_the_calling_module() -> None:
    sys.path.insert(0, str(FIXTURES))
    try:
        module = importlib.import_module("knoll_fixture_current_module")
    finally:
        sys.path.remove(str(FIXTURES))
        sys.modules.pop("knoll_fixture_current_module", None)
    defs = module.defs
    signups = defs.get_assets_def("growth/signups")
    assert signups.specs[0].group_name == "growth"
    graph = defs.get_asset_graph()
    assert graph.check(AssetCheckKey(AssetKey(["growth", "signups"]), "some_signups"))
