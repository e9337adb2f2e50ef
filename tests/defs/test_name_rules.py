"""Name rules aligned with Dagster 1.13: group segments, key parts with dashes and dots."""

from __future__ import annotations

import re

import pytest

from knoll import AssetKey, AssetSpec, Definitions, asset, materialize
from knoll.errors import DefinitionError


def test_a_group_name_may_have_segments_joined_by_slash() -> None:
    @asset(group_name="marketing/emails")
    def open_rates() -> float:
        return 0.4

    defs = Definitions(assets=[open_rates])
    assert defs.get_asset_graph().groups() == {"marketing/emails": frozenset({open_rates.key})}


@pytest.mark.parametrize("group", ["marketing-emails", "a//b", "/marketing", "marketing/", ""])
def test_other_group_names_are_refused(group: str) -> None:
    with pytest.raises(DefinitionError) as info:
        AssetSpec("campaigns", group_name=group)
    assert str(info.value).startswith(
        f"group name {group!r} of asset 'campaigns' is not valid: use letters, digits and "
        "underscores (A-Z, a-z, 0-9, _), optionally in segments joined by '/' (for example "
        "'marketing/emails')"
    )
    assert str(info.value).endswith("or leave group_name unset for the default group.")


def test_key_parts_with_dashes_dots_and_spaces_materialize() -> None:
    @asset(key=["s3.landing", "daily-orders"])
    def landing() -> int:
        return 3

    @asset(deps=[landing], key_prefix=["reporting-v2"])
    def summary() -> int:
        return 1

    result = materialize([landing, summary])
    assert result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        AssetKey(["s3.landing", "daily-orders"]),
        AssetKey(["reporting-v2", "summary"]),
    }
    assert AssetSpec("crm export").key.to_python_identifier() == "crm_export"


@pytest.mark.parametrize(
    ("parts", "shown"),
    [
        (["raw", ""], "asset key part '' in 'raw/' is not valid"),
        (["raw", "."], "asset key part '.' in 'raw/.' is not valid"),
        (["raw", 3], "asset key part 3 in 'raw/3' is a int: key parts are strings"),
    ],
)
def test_empty_dot_and_non_string_parts_are_refused(parts: list[object], shown: str) -> None:
    with pytest.raises(DefinitionError, match=shown):
        AssetKey(parts)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["data eng", "x" * 64, "eu/west", "équipe"])
def test_asset_tag_values_follow_dagsters_rule(value: str) -> None:
    def orders() -> int:
        return 1

    with pytest.raises(
        DefinitionError,
        match=rf"tag 'team' of asset 'orders' has the value {re.escape(repr(value))}, which an "
        r"asset tag cannot have: asset tag values use only letters, digits, '\.', '-' and '_', "
        r"at most 63 characters",
    ):
        asset(tags={"team": value})(orders)


def test_asset_tags_within_the_rules_are_kept() -> None:
    tags = {"team": "data-eng.core_1", "tier": "", "ns/" + "k" * 63: "x" * 63}
    assert AssetSpec("orders", tags=tags).tags == tags
    with pytest.raises(
        DefinitionError, match=r"tag key 'a/b/c' of asset 'orders' is not valid: use letters"
    ):
        AssetSpec("orders", tags={"a/b/c": "x"})
