"""Metadata values that JSON cannot hold as they are: NaN and infinities, and very large
text. Floats read back exactly; text, markdown, URLs, paths and JSON are cut to a limit."""

from __future__ import annotations

import logging
import math

import pytest

from knoll import MaterializeResult, MetadataValue, TableRecord, asset, materialize
from knoll.defs.metadata import (
    MAX_METADATA_VALUE_BYTES,
    JsonMetadataValue,
    TextMetadataValue,
    cut_utf8,
    normalize_metadata,
)
from knoll.errors import DefinitionError
from knoll.execution.events import EventType

LIMIT = MAX_METADATA_VALUE_BYTES


def test_the_limit_is_64_kib() -> None:
    assert LIMIT == 64 * 1024


def test_text_under_the_limit_is_kept_whole() -> None:
    value = MetadataValue.text("é" * (LIMIT // 2))  # two bytes each: exactly the limit
    assert value.value == "é" * (LIMIT // 2)
    assert not value.truncated


@pytest.mark.parametrize("build", [MetadataValue.text, MetadataValue.md, MetadataValue.url])
def test_text_over_the_limit_is_cut_between_characters(build: object) -> None:
    assert callable(build)
    value = build("a" + "€" * LIMIT)  # three bytes each: the cut falls inside a character
    kept = value.value
    assert kept == "a" + "€" * ((LIMIT - 1) // 3)
    assert len(kept.encode()) <= LIMIT
    assert value.original_size == 1 + 3 * LIMIT


def test_a_path_with_undecodable_bytes_is_measured_and_cut() -> None:
    value = MetadataValue.path("/data/\udcff" + "p" * LIMIT)
    assert value.value.startswith("/data/\udcff")
    assert value.truncated


def test_json_over_the_limit_keeps_the_start_of_its_text() -> None:
    value = MetadataValue.json({"rows": list(range(20_000))})
    assert isinstance(value, JsonMetadataValue)
    assert value.truncated
    assert isinstance(value.data, str)
    assert value.data.startswith('{"rows": [0, 1, 2')
    assert len(value.data.encode()) == LIMIT


def test_cut_utf8_leaves_short_text_alone() -> None:
    assert cut_utf8("short", LIMIT) is None
    assert cut_utf8("ab€", 4) == ("ab", 5)


def test_a_materialization_warns_for_each_value_it_cut() -> None:
    @asset
    def report() -> MaterializeResult:
        return MaterializeResult(
            metadata={"preview": "x" * (LIMIT + 1), "summary": MetadataValue.md("short")}
        )

    result = materialize([report])
    warnings = [
        e
        for e in result.all_events
        if e.event_type is EventType.LOG_MESSAGE and e.level == logging.WARNING
    ]
    assert [w.message for w in warnings] == [
        f"metadata 'preview' of asset report has {LIMIT + 1} bytes, over the limit of {LIMIT} "
        f"bytes per value: only its first {LIMIT} bytes were kept. Keep large data in the "
        "asset itself and point to it with MetadataValue.path or MetadataValue.url"
    ]
    (event,) = result.asset_materializations_for_node("report")
    preview = event.metadata["preview"]
    assert isinstance(preview, TextMetadataValue)
    assert preview.value == "x" * LIMIT


def test_nan_and_infinities_are_kept() -> None:
    @asset
    def stats() -> MaterializeResult:
        return MaterializeResult(metadata={"mean": math.nan, "max": math.inf})

    (event,) = materialize([stats]).asset_materializations_for_node("stats")
    assert math.isnan(event.metadata["mean"].value)
    assert event.metadata["max"].value == math.inf


def test_a_timestamp_that_is_not_finite_is_refused() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"MetadataValue\.timestamp\(nan\) is not a time: a timestamp is a finite number "
        r"of seconds since the epoch\. Use MetadataValue\.float for other numbers\.",
    ):
        MetadataValue.timestamp(math.nan)


def test_a_table_cell_that_is_not_finite_is_refused() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"TableRecord column 'ratio' is inf, which a table cannot hold \(JSON has no NaN "
        r"or infinity\)\. Use None for a missing value\.",
    ):
        TableRecord({"name": "a", "ratio": math.inf})


def test_a_float_metadata_value_refuses_other_strings() -> None:
    from knoll.defs.metadata import FloatMetadataValue

    with pytest.raises(DefinitionError, match=r"FloatMetadataValue\('1\.5'\) takes a float"):
        FloatMetadataValue("1.5")


def test_nan_inside_json_data_is_refused_naming_the_entry() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"metadata entry 'stats' of asset 'a' holds NaN or infinity, which JSON cannot "
        r"hold\. Use None for a missing number, or record the number on its own",
    ):
        normalize_metadata({"stats": {"mean": math.nan}}, "asset 'a'")
    with pytest.raises(DefinitionError, match=r"MetadataValue\.json: the data holds NaN"):
        MetadataValue.json([math.inf])
