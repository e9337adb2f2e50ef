"""The import rewrite that every porting test uses, on its own."""

from __future__ import annotations

import pytest

from tests.porting.conftest import port_source


def test_rewrites_each_form_of_dagster_import() -> None:
    source = "import dagster as dg\nimport dagster\nfrom dagster import asset, Definitions\n"
    assert port_source(source) == (
        "import knoll.compat.dagster as dg\n"
        "import knoll.compat.dagster as dagster\n"
        "from knoll.compat.dagster import asset, Definitions\n"
    )


def test_leaves_other_imports_alone() -> None:
    source = "import dagster_extra_thing_free\nimport os\n"
    assert port_source(source) == source


def test_an_unhandled_dagster_import_is_reported() -> None:
    with pytest.raises(AssertionError, match="an import of dagster was left"):
        port_source("from dagster._core.errors import DagsterError\n")
