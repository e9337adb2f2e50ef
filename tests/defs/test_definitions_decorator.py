"""``@definitions``: a function that builds a code location's ``Definitions`` when loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from knoll import Definitions, LazyDefinitions, asset, definitions
from knoll.errors import DefinitionError
from tests.cli.helpers import knoll as run_knoll


def test_the_decorator_is_not_shadowed_by_a_package_module() -> None:
    import knoll.defs.asset  # a submodule import must not replace the name

    assert callable(knoll.definitions)
    assert knoll.definitions is definitions


def test_calling_the_decorated_function_builds_the_definitions() -> None:
    built: list[int] = []

    @definitions
    def defs() -> Definitions:
        built.append(1)

        @asset
        def sales() -> list[int]:
            return [1, 2, 3]

        return Definitions(assets=[sales])

    assert isinstance(defs, LazyDefinitions)
    assert built == []  # nothing runs until the location is loaded
    loaded = defs()
    assert isinstance(loaded, Definitions)
    assert [key.to_user_string() for key in loaded.asset_graph.keys] == ["sales"]


def test_a_function_that_returns_something_else_is_named_in_the_error() -> None:
    @definitions
    def defs() -> Definitions:
        return [1, 2]  # type: ignore[return-value]

    with pytest.raises(DefinitionError) as info:
        defs()
    assert str(info.value) == (
        "@definitions function 'defs' returned a list, not a Definitions; end it with "
        "`return Definitions(assets=[...])`."
    )


def test_a_function_with_parameters_is_refused() -> None:
    def defs(context: object) -> Definitions:
        return Definitions()

    with pytest.raises(DefinitionError) as info:
        definitions(defs)  # type: ignore[arg-type]
    assert str(info.value) == (
        "@definitions function 'defs' takes parameters (context); it is called without "
        "arguments, so remove them."
    )


def test_a_code_location_built_by_a_decorated_function_loads_and_runs(tmp_path: Path) -> None:
    (tmp_path / "project.py").write_text(
        textwrap.dedent(
            """
            import knoll as dg

            @dg.definitions
            def defs():
                @dg.asset
                def raw() -> list[int]:
                    return [1, 2, 3]

                @dg.asset
                def total(raw: list[int]) -> int:
                    return sum(raw)

                return dg.Definitions(assets=[raw, total])
            """
        )
    )
    listed = run_knoll("asset", "list", "-f", "project.py", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "raw" in listed.stdout
    assert "total" in listed.stdout
    done = run_knoll("asset", "materialize", "-f", "project.py", "--select", "*", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "total" in done.stdout


def test_import_knoll_then_the_decorator_in_a_fresh_process() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import knoll as dg; import knoll.defs.op; print(callable(dg.definitions))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "True", done.stderr
