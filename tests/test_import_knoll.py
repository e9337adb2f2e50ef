"""What ``import knoll`` loads, and that its lazily loaded public names all work.

``import knoll`` loads no public name until it is used, and declaring assets (``@asset``,
``Definitions``, ops, jobs) loads only the declaration modules they need: not the cron
parser, schedules, sensors, partitions or the execution layer. Each check runs in a fresh
interpreter, since the test process itself has imported much more.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import knoll

# What `import knoll` may load. A module added here is loaded by every program that imports
# knoll: make the new import lazy instead, unless every program needs it.
IMPORT_KNOLL_LOADS = {
    "knoll",
    "knoll.defs",
    "knoll.defs.runtime",
    "knoll.errors",
}

# What declaring assets, ops and jobs and building Definitions of them may load.
DECLARING_LOADS = IMPORT_KNOLL_LOADS | {
    "knoll._serdes",
    "knoll._utils",
    "knoll.defs.asset",
    "knoll.defs.asset_graph",
    "knoll.defs.asset_spec",
    "knoll.defs.check",
    "knoll.defs.composition",
    "knoll.defs.compute_kind",
    "knoll.defs.data_version",  # Output and MaterializeResult take a DataVersion
    "knoll.defs.definitions",
    "knoll.defs.executor",
    "knoll.defs.graph",
    "knoll.defs.hook",  # ops and jobs hold their hooks
    "knoll.defs.job",
    "knoll.defs.job_config",
    "knoll.defs.keys",
    "knoll.defs.metadata",
    "knoll.defs.node_assets",  # AssetsDefinition.from_graph and from_op
    "knoll.defs.op",
    "knoll.defs.output",
    "knoll.defs.params",
    "knoll.defs.automation",
    "knoll.defs.policies",
    "knoll.defs.resource_binding",  # Definitions merges resources bound with with_resources
    "knoll.defs.selection",
}

DECLARE = """
from knoll import AssetKey, Definitions, asset, define_asset_job, graph, job, op

@asset
def orders() -> int:
    return 1

@asset(key_prefix=["shop"])
def revenue(orders: int) -> int:
    return orders * 2

@op
def one() -> int:
    return 1

@graph
def one_graph() -> int:
    return one()

@job
def one_job() -> None:
    one()

defs = Definitions(
    assets=[orders, revenue],
    jobs=[define_asset_job("all_assets", selection="*"), one_job, one_graph.to_job()],
)
assert defs.get_assets_def(AssetKey(["shop", "revenue"])).key == AssetKey(["shop", "revenue"])
"""


def knoll_modules_after(code: str) -> set[str]:
    """The ``knoll`` modules loaded after running ``code`` in a fresh interpreter."""
    program = textwrap.dedent(code) + textwrap.dedent(
        """
        import json, sys
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "knoll")))
        """
    )
    completed = run_python(program)
    loaded: list[str] = json.loads(completed.splitlines()[-1])
    return set(loaded)


def run_python(code: str) -> str:
    completed = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


def unexpected(loaded: set[str], allowed: set[str], what: str) -> str:
    new = sorted(loaded - allowed)
    return (
        f"{what} now loads {', '.join(new)}. Make the import that brings them in lazy (import "
        "the module where it is used, or give the name in knoll/__init__.py's table), or, if "
        f"every program needs them, add them deliberately to the allow-list in {__name__}."
    )


def test_import_knoll_loads_only_the_allowed_modules() -> None:
    loaded = knoll_modules_after("import knoll")
    assert loaded <= IMPORT_KNOLL_LOADS, unexpected(loaded, IMPORT_KNOLL_LOADS, "import knoll")


def test_declaring_assets_ops_and_jobs_loads_only_declaration_modules() -> None:
    loaded = knoll_modules_after(DECLARE)
    what = "declaring assets, ops and jobs"
    assert loaded <= DECLARING_LOADS, unexpected(loaded, DECLARING_LOADS, what)


def test_calling_an_asset_directly_loads_the_execution_layer_on_first_use() -> None:
    loaded = knoll_modules_after(DECLARE + "\nassert revenue(orders=3) == 6\n")
    assert "knoll.execution.direct" in loaded


def test_execute_in_process_works_after_declaring_only() -> None:
    out = run_python(
        textwrap.dedent(DECLARE)
        + "\nresult = defs.get_job_def('one_job').execute_in_process()\nprint(result.success)\n"
    )
    assert out.splitlines()[-1] == "True"


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    out = run_python(
        textwrap.dedent(
            """
            import knoll
            missing = [name for name in knoll.__all__ if getattr(knoll, name, None) is None]
            print(len(knoll.__all__), missing)
            """
        )
    )
    assert out == f"{len(knoll.__all__)} []"


def test_star_import_gives_every_public_name() -> None:
    out = run_python(
        "from knoll import *\nimport knoll\nnames = set(globals())\n"
        "print([n for n in knoll.__all__ if n not in names])"
    )
    assert out == "[]"


@pytest.mark.parametrize("name", knoll.__all__)
def test_from_import_and_attribute_give_the_same_object(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from knoll import {name}", namespace)
    assert namespace[name] is getattr(knoll, name)


def test_the_name_table_the_typing_imports_and_all_agree() -> None:
    # Type checkers read the TYPE_CHECKING imports, Python the table: they must say the same.
    source = Path(knoll.__file__).read_text()
    typing_block = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported = {
        (node.module, alias.name)
        for node in typing_block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    }
    table = {(module, name) for name, module in knoll._MODULE_OF.items()}
    assert imported == table
    assert sorted(knoll._MODULE_OF) == knoll.__all__


def test_dir_lists_every_public_name_before_it_is_loaded() -> None:
    out = run_python(
        "import knoll\nlisted = dir(knoll)\n"
        "print([n for n in knoll.__all__ if n not in listed], 'Instance' in vars(knoll))"
    )
    assert out == "[] False"


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError) as caught:
        getattr(knoll, "SolidDefinition")  # noqa: B009
    message = str(caught.value)
    assert "module 'knoll' has no attribute 'SolidDefinition'" in message
    assert "The public names are in knoll.__all__." in message
    with pytest.raises(ImportError, match="SolidDefinition"):
        exec("from knoll import SolidDefinition", {})
    with pytest.raises(AttributeError, match=r"no attribute 'AsetSpec'\. Did you mean 'AssetSpec'"):
        getattr(knoll, "AsetSpec")  # noqa: B009
    assert not hasattr(knoll, "__wrapped__")


def test_declaring_assets_and_io_managers_loads_no_upath_or_fsspec() -> None:
    # UPathIOManager's module imports universal-pathlib (and so fsspec): only using it may.
    code = DECLARE + "\nfrom knoll import fs_io_manager, mem_io_manager, with_resources\n"
    program = textwrap.dedent(code) + (
        "\nimport sys\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('upath', 'fsspec')))\n"
    )
    assert run_python(program).splitlines()[-1] == "[]"
    used = run_python(
        "import knoll\nknoll.UPathIOManager\nimport sys\nprint('upath' in sys.modules)"
    )
    assert used == "True"
