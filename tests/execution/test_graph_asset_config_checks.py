"""config= and check_specs= of graph-backed assets, as in Dagster 1.13: the graph's config
(a dict of its ops' config, or a config mapping) and the checks its ops compute."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    AssetKey,
    AssetOut,
    AssetsDefinition,
    AssetSelection,
    Config,
    ConfigMapping,
    Definitions,
    FilesystemIOManager,
    GraphOut,
    In,
    Nothing,
    Out,
    Output,
    asset,
    config_mapping,
    define_asset_job,
    definitions_snapshot,
    graph,
    graph_asset,
    graph_multi_asset,
    job,
    materialize,
    op,
)
from knoll.codeloc.loader import CodeLocationTarget, load_definitions
from knoll.defs.executor import multiprocess_executor
from knoll.errors import DefinitionError, InvalidConfigError, InvalidInvocationError
from knoll.execution.origin import code_origin, set_code_origin
from knoll.execution.reexecution import execute_job
from knoll.instance import Instance


class ExportConfig(Config):
    table: str
    limit: int = 100


@op
def extract(config: ExportConfig) -> list[str]:
    return [f"{config.table}:{i}" for i in range(min(config.limit, 3))]


@op
def count_rows(rows: list[str]) -> int:
    return len(rows)


# ---- config= ----------------------------------------------------------------------------


@graph_asset(config={"extract": {"config": {"table": "orders", "limit": 2}}})
def order_rows() -> Any:
    return count_rows(extract())


def test_a_config_dict_configures_the_graph_ops_without_run_config() -> None:
    result = materialize([order_rows])
    assert result.asset_value("order_rows") == 2
    assert result.output_for_node("order_rows.extract") == ["orders:0", "orders:1"]


@config_mapping(config_schema={"table": str})
def table_only(outer: dict[str, Any]) -> dict[str, Any]:
    return {"extract": {"config": {"table": outer["table"], "limit": 1}}}


@graph_asset(config=table_only)
def mapped_rows() -> Any:
    return count_rows(extract())


def test_a_config_mapping_takes_the_graph_config_from_run_config() -> None:
    result = materialize(
        [mapped_rows], run_config={"ops": {"mapped_rows": {"config": {"table": "refunds"}}}}
    )
    assert result.output_for_node("mapped_rows.extract") == ["refunds:0"]
    assert result.asset_value("mapped_rows") == 1


def test_a_mapped_graph_asset_names_its_missing_config() -> None:
    with pytest.raises(InvalidConfigError) as caught:
        materialize([mapped_rows])
    assert caught.value.errors == (
        "at path ops:mapped_rows:config: missing required field 'table' (str). Add it, for "
        'example: table: "..."',
    )


def test_a_mapped_graph_takes_config_not_the_config_of_its_ops() -> None:
    given = {"ops": {"mapped_rows": {"ops": {"extract": {"config": {"table": "x"}}}}}}
    with pytest.raises(InvalidConfigError, match="takes 'config:', not 'ops:'"):
        materialize([mapped_rows], run_config=given)
    dotted = {"ops": {"mapped_rows.extract": {"config": {"table": "x"}}}}
    with pytest.raises(
        InvalidConfigError,
        match=r"'mapped_rows.extract' is configured by the config mapping of graph "
        r"'mapped_rows'; give the graph its config instead",
    ):
        materialize([mapped_rows], run_config=dotted)


def test_config_the_mapping_returns_is_checked_against_the_ops() -> None:
    @config_mapping
    def too_big(outer: Any) -> dict[str, Any]:
        return {"extract": {"config": {"table": "t", "limit": "many"}}}

    @graph_asset(config=too_big)
    def bad_rows() -> Any:
        return count_rows(extract())

    with pytest.raises(InvalidConfigError) as caught:
        materialize([bad_rows])
    [error] = caught.value.errors
    assert "ops:bad_rows:ops:extract:config:limit" in error
    assert error.endswith("(in the config the mapping of graph 'bad_rows' returned)")


def test_graph_multi_asset_and_from_graph_take_the_graph_config() -> None:
    @graph_multi_asset(outs={"rows": AssetOut(), "total": AssetOut()}, config=table_only)
    def export() -> Any:
        rows = extract()
        return {"rows": rows, "total": count_rows(rows)}

    result = materialize([export], run_config={"ops": {"export": {"config": {"table": "a"}}}})
    assert result.asset_value("rows") == ["a:0"]
    assert result.asset_value("total") == 1

    @graph(
        out={"rows": GraphOut(), "total": GraphOut()},
        config={"extract": {"config": {"table": "b"}}},
    )
    def export_graph() -> Any:
        rows = extract()
        return {"rows": rows, "total": count_rows(rows)}

    result = materialize([AssetsDefinition.from_graph(export_graph)])
    assert result.asset_value("total") == 3


def test_a_subset_ignores_the_mapped_config_of_ops_it_does_not_run() -> None:
    @op
    def other() -> int:
        return 7

    @graph_multi_asset(
        outs={"rows": AssetOut(), "seven": AssetOut()},
        can_subset=True,
        config={"extract": {"config": {"table": "c"}}},
    )
    def split() -> Any:
        return {"rows": extract(), "seven": other()}

    result = materialize([split], selection=["seven"])
    assert result.asset_value("seven") == 7


def test_a_configured_graph_in_a_job_and_as_a_job() -> None:
    @graph(config=table_only)
    def export_graph() -> Any:
        return count_rows(extract())

    @job
    def nightly() -> None:
        export_graph()

    result = nightly.execute_in_process(
        run_config={"ops": {"export_graph": {"config": {"table": "d"}}}}
    )
    assert result.output_for_node("export_graph.extract") == ["d:0"]
    # to_job(): the graph's own config is the run config's ops: {config: ...}, as in Dagster
    result = export_graph.to_job().execute_in_process(
        run_config={"ops": {"config": {"table": "e"}}}
    )
    assert result.output_for_node("extract") == ["e:0"]


def test_graph_config_must_be_a_mapping_or_a_dict() -> None:
    with pytest.raises(
        DefinitionError, match=r"graph 'wrong' got config='orders' \(str\); give a ConfigMapping"
    ):

        @graph_asset(config="orders")  # type: ignore[call-overload, untyped-decorator]
        def wrong() -> Any:
            return count_rows(extract())


def test_a_mapping_that_returns_no_dict_is_named() -> None:
    @graph_asset(config=ConfigMapping(config_fn=lambda _: ["extract"]))
    def listed() -> Any:
        return count_rows(extract())

    with pytest.raises(
        DefinitionError,
        match=r"the config_fn of the config mapping of graph 'listed' returned list; return "
        r"the config of the graph's ops",
    ):
        materialize([listed])


# ---- @config_mapping --------------------------------------------------------------------


@op
def greet(config: ExportConfig) -> str:
    return f"{config.table}/{config.limit}"


@graph
def greeting() -> None:
    greet()


def test_config_mapping_bare_and_with_arguments() -> None:
    @config_mapping
    def bare(outer: Any) -> dict[str, Any]:
        return {"ops": {"greet": {"config": {"table": outer["who"]}}}}

    @config_mapping(config_schema={"who": str}, receive_processed_config_values=False)
    def raw(outer: Any) -> dict[str, Any]:
        return {"ops": {"greet": {"config": {"table": outer["who"], "limit": 1}}}}

    assert isinstance(bare, ConfigMapping)
    assert bare.config_schema is None
    assert not raw.receive_processed_config_values
    result = greeting.to_job(config=bare).execute_in_process(run_config={"who": "ana"})
    assert result.output_for_node("greet") == "ana/100"
    result = greeting.to_job(config=raw).execute_in_process(run_config={"who": "bo"})
    assert result.output_for_node("greet") == "bo/1"


class Who(Config):
    name: str
    limit: int = 5


def test_config_mapping_with_a_config_class_parameter() -> None:
    @config_mapping
    def typed(outer: Who) -> dict[str, Any]:
        return {"ops": {"greet": {"config": {"table": outer.name, "limit": outer.limit}}}}

    @job(config=typed)
    def typed_job() -> None:
        greet()

    result = typed_job.execute_in_process(run_config={"name": "cy"})
    assert result.output_for_node("greet") == "cy/5"
    with pytest.raises(InvalidConfigError, match="name"):
        typed_job.execute_in_process(run_config={})


def test_config_mapping_errors_name_the_function() -> None:
    with pytest.raises(
        DefinitionError, match=r"config mapping 'two' \(.*\) takes 2 parameters; a config mapping"
    ):

        @config_mapping  # type: ignore[arg-type]
        def two(a: Any, b: Any) -> dict[str, Any]:
            return {}

    with pytest.raises(DefinitionError, match=r"has both config_schema= and a parameter"):

        @config_mapping(config_schema={"name": str})
        def both(outer: Who) -> dict[str, Any]:
            return {}


# ---- check_specs= -----------------------------------------------------------------------


@op
def stage() -> list[int]:
    return [3, 1, 2]


@op
def no_negatives(rows: list[int]) -> AssetCheckResult:
    bad = [r for r in rows if r < 0]
    return AssetCheckResult(
        check_name="no_negatives", passed=not bad, metadata={"bad_rows": len(bad)}
    )


@op
def not_empty(rows: list[int]) -> AssetCheckResult:
    return AssetCheckResult(check_name="not_empty", passed=bool(rows))


@op(ins={"rows": In(), "checked": In(Nothing)})
def publish(rows: list[int]) -> list[int]:
    return sorted(rows)


@graph_asset(
    check_specs=[
        AssetCheckSpec("no_negatives", asset="scores", blocking=True),
        AssetCheckSpec("not_empty", asset="scores"),
    ]
)
def scores() -> Any:
    rows = stage()
    checked = no_negatives(rows)
    return {
        "result": publish(rows=rows, checked=checked),
        "scores_no_negatives": checked,
        "scores_not_empty": not_empty(rows),
    }


def test_a_graph_asset_records_the_checks_its_ops_return() -> None:
    result = materialize([scores])
    assert result.asset_value("scores") == [1, 2, 3]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert sorted(evaluations) == ["no_negatives", "not_empty"]
    assert evaluations["no_negatives"].passed
    assert evaluations["no_negatives"].blocking
    assert evaluations["no_negatives"].metadata["bad_rows"].value == 0
    assert {e.asset_key for e in evaluations.values()} == {AssetKey("scores")}
    assert scores.check_keys == {
        AssetCheckKey(AssetKey("scores"), "no_negatives"),
        AssetCheckKey(AssetKey("scores"), "not_empty"),
    }


@op
def stage_two() -> list[int]:
    return [5]


@graph_multi_asset(
    outs={"left": AssetOut(), "right": AssetOut()},
    check_specs=[
        AssetCheckSpec("no_negatives", asset="left"),
        AssetCheckSpec("not_empty", asset="right"),
    ],
    can_subset=True,
)
def sides() -> Any:
    left = stage()
    right = stage_two()
    return {
        "left": left,
        "right": right,
        "left_no_negatives": no_negatives(left),
        "right_not_empty": not_empty(right),
    }


def _ran(result: Any) -> list[str]:
    return sorted({e.step_key for e in result.all_events if e.step_key})


def _checks(result: Any) -> list[str]:
    return sorted(e.check_name for e in result.get_asset_check_evaluations())


def test_a_subset_of_a_graph_multi_asset_runs_the_ops_of_its_assets_and_checks(
    tmp_path: Path,
) -> None:
    resources = {"io_manager": FilesystemIOManager(base_dir=str(tmp_path))}
    result = materialize([sides], selection=["left"], resources=resources)
    assert _ran(result) == ["sides.no_negatives", "sides.stage"]
    assert _checks(result) == ["no_negatives"]
    materialize([sides], resources=resources)
    # as in Dagster, a check alone reads its asset from storage: stage_two does not run
    only_check = AssetSelection.checks(AssetCheckKey(AssetKey("right"), "not_empty"))
    result = materialize([sides], selection=only_check, resources=resources)
    assert _ran(result) == ["sides.not_empty"]
    assert result.get_asset_materialization_events() == []
    assert _checks(result) == ["not_empty"]
    without_checks = AssetSelection.assets("left") - AssetSelection.checks_for_assets(sides)
    result = materialize([sides], selection=without_checks, resources=resources)
    assert _ran(result) == ["sides.stage"]
    assert _checks(result) == []


def test_a_graph_asset_that_cannot_be_split_runs_with_all_its_checks() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"asset 'scores' cannot be split: the selection leaves out its checks "
        r"\['scores:no_negatives', 'scores:not_empty'\]",
    ):
        materialize(
            [scores],
            selection=AssetSelection.assets("scores") - AssetSelection.checks_for_assets(scores),
        )
    with pytest.raises(
        DefinitionError,
        match=r"asset 'scores' cannot be split: the selection has its checks "
        r"\['scores:not_empty'\] but none of its assets",
    ):
        materialize(
            [scores],
            selection=AssetSelection.checks(AssetCheckKey(AssetKey("scores"), "not_empty")),
        )


def test_from_graph_takes_check_specs() -> None:
    @graph(out={"result": GraphOut(), "result_not_empty": GraphOut()})
    def checked_graph() -> Any:
        rows = stage()
        return {"result": rows, "result_not_empty": not_empty(rows)}

    assets_def = AssetsDefinition.from_graph(
        checked_graph,
        keys_by_output_name={"result": AssetKey("result")},
        check_specs=[AssetCheckSpec("not_empty", asset="result")],
    )
    assert assets_def.keys == {AssetKey("result")}
    result = materialize([assets_def])
    assert _checks(result) == ["not_empty"]


def test_check_spec_errors_name_the_asset_and_the_output_to_return() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"asset 'unchecked' \(.*\) declares check_specs, so its body returns a dict with "
        r"the asset under 'result' and each check's result under its name: return "
        r"\{'result': \.\.\., 'unchecked_not_empty': \.\.\.\}",
    ):

        @graph_asset(check_specs=[AssetCheckSpec("not_empty", asset="unchecked")])
        def unchecked() -> Any:
            return stage()

    with pytest.raises(
        DefinitionError,
        match=r"check 'not_empty' in check_specs of asset 'aimed' targets 'elsewhere', which "
        r"asset 'aimed' does not produce",
    ):

        @graph_asset(check_specs=[AssetCheckSpec("not_empty", asset="elsewhere")])
        def aimed() -> Any:
            rows = stage()
            return {"result": rows, "elsewhere_not_empty": not_empty(rows)}

    @graph(out={"result": GraphOut()})
    def plain_graph() -> Any:
        return {"result": stage()}

    with pytest.raises(
        DefinitionError,
        match=r"declares check 'not_empty' of 'result' in check_specs=, but its graph has no "
        r"output 'result_not_empty'",
    ):
        AssetsDefinition.from_graph(
            plain_graph, check_specs=[AssetCheckSpec("not_empty", asset="result")]
        )


def test_a_check_op_that_returns_no_result_fails_its_step() -> None:
    @op
    def forgets(rows: list[int]) -> None:
        return None

    @graph_asset(check_specs=[AssetCheckSpec("not_empty", asset="forgetful")])
    def forgetful() -> Any:
        rows = stage()
        return {"result": rows, "forgetful_not_empty": forgets(rows)}

    result = materialize([forgetful], raise_on_error=False)
    assert result.failed_step_keys == ["forgetful.forgets"]
    error = result.step_error("forgetful.forgets")
    assert "did not return a result for check(s) forgetful:not_empty" in str(error)


@asset
def downstream_of_scores(scores: list[int]) -> int:
    return sum(scores)


@op
def where(config: ExportConfig) -> tuple[int, str]:
    return os.getpid(), config.table


@config_mapping(config_schema={"table": str})
def where_table(outer: dict[str, Any]) -> dict[str, Any]:
    return {"where": {"config": {"table": outer["table"]}}}


@graph_asset(config=where_table)
def worker_table() -> Any:
    return where()


def test_config_and_checks_of_graph_assets_run_in_worker_processes(tmp_path: Path) -> None:
    defs = Definitions(
        assets=[scores, order_rows, mapped_rows, downstream_of_scores, worker_table],
        jobs=[define_asset_job("everything", selection="*")],
        resources={"io_manager": FilesystemIOManager(base_dir=str(tmp_path / "out"))},
        executor=multiprocess_executor(max_concurrent=2),
    )
    instance = Instance.get(tmp_path / "home")
    result = execute_job(
        defs.get_job_def("everything"),
        instance,
        run_config={
            "ops": {
                "mapped_rows": {"config": {"table": "mp"}},
                "worker_table": {"config": {"table": "w"}},
            }
        },
    )
    assert result.success
    pid, table = result.asset_value("worker_table")
    assert pid != os.getpid()
    assert table == "w"
    assert result.asset_value("order_rows") == 2
    assert result.asset_value("mapped_rows") == 1
    assert result.asset_value("downstream_of_scores") == 6
    assert _checks(result) == ["no_negatives", "not_empty"]


def test_the_snapshot_schema_takes_a_mapped_graph_config() -> None:
    @graph(config=table_only)
    def export_graph() -> Any:
        return count_rows(extract())

    @job
    def nightly() -> None:
        export_graph()

    defs = Definitions(
        assets=[mapped_rows, order_rows],
        jobs=[define_asset_job("all_rows", selection="*"), nightly],
    )
    jobs = {j["name"]: j for j in definitions_snapshot(defs)["jobs"]}
    table_config = {
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {"table": {"type": "string"}},
                "additionalProperties": False,
                "required": ["table"],
            }
        },
        "additionalProperties": False,
        "required": ["config"],
    }
    asset_ops = jobs["all_rows"]["run_config_schema"]["properties"]["ops"]["properties"]
    assert asset_ops["mapped_rows"] == table_config
    op_ops = jobs["nightly"]["run_config_schema"]["properties"]["ops"]["properties"]
    assert op_ops == {"export_graph": table_config}


def test_a_prefixed_graph_asset_keeps_its_checks_and_config() -> None:
    prefixed = scores.with_attributes(key_prefix="shop")
    result = materialize([prefixed])
    assert {e.asset_key for e in result.get_asset_check_evaluations()} == {
        AssetKey(["shop", "scores"])
    }
    mapped = mapped_rows.with_attributes(key_prefix="shop")
    run_config = {"ops": {"shop__mapped_rows": {"config": {"table": "z"}}}}
    assert materialize([mapped], run_config=run_config).asset_value(["shop", "mapped_rows"]) == 1


def test_output_for_node_reads_a_graph_asset_by_its_graph_output() -> None:
    result = materialize([order_rows, sides])
    assert result.output_for_node("order_rows") == 2
    assert result.output_for_node("sides", "right") == [5]
    with pytest.raises(
        InvalidInvocationError,
        match=r"graph-backed asset node 'sides' has no output 'rigth' in run .*\. Did you mean "
        r"'right'\? Its outputs: left, left_no_negatives, right, right_not_empty\.",
    ):
        result.output_for_node("sides", "rigth")


def test_a_result_for_a_check_the_subset_leaves_out_is_recorded_with_a_warning() -> None:
    @op(out={"rows": Out(), "checked": Out()})
    def load_and_check() -> Iterator[Any]:
        yield Output([1, 2], output_name="rows")
        yield AssetCheckResult(passed=True)

    @graph_multi_asset(
        outs={"loaded": AssetOut()},
        check_specs=[AssetCheckSpec("fine", asset="loaded")],
        can_subset=True,
    )
    def loading() -> Any:
        rows, checked = load_and_check()
        return {"loaded": rows, "loaded_fine": checked}

    selection = AssetSelection.assets("loaded") - AssetSelection.checks_for_assets(loading)
    result = materialize([loading], selection=selection)
    assert result.asset_value("loaded") == [1, 2]
    assert _checks(result) == ["fine"]
    warnings = [e.message for e in result.all_events if e.level == logging.WARNING]
    assert warnings == [
        "op 'loading.load_and_check' returned a result for check 'loaded:fine', which this run "
        "does not select; it is recorded anyway."
    ]


def test_a_result_without_check_name_is_resolved_among_all_checks_of_the_graph_asset() -> None:
    @op
    def unnamed(rows: list[int]) -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    @graph_asset(
        check_specs=[
            AssetCheckSpec("a", asset="two_checks"),
            AssetCheckSpec("not_empty", asset="two_checks"),
        ]
    )
    def two_checks() -> Any:
        rows = stage()
        return {
            "result": rows,
            "two_checks_a": unnamed(rows),
            "two_checks_not_empty": not_empty(rows),
        }

    result = materialize([two_checks], raise_on_error=False)
    assert result.failed_step_keys == ["two_checks.unnamed"]
    assert str(result.step_error("two_checks.unnamed")) == (
        "op 'two_checks.unnamed' returned an AssetCheckResult without check_name, but 2 checks "
        "of two_checks (a, not_empty) are declared on its graph-backed asset; set check_name=..."
    )


SPAWNED_PROJECT = """
import os

from knoll import (
    AssetCheckResult, AssetCheckSpec, Definitions, config_mapping, graph_asset,
    multiprocess_executor, op,
)


@op(config_schema={"table": str})
def where(context) -> tuple[int, str]:
    return os.getpid(), context.op_config["table"]


@op
def looks_fine(found: tuple[int, str]) -> AssetCheckResult:
    return AssetCheckResult(passed=True, metadata={"pid": found[0]})


@config_mapping(config_schema={"name": str})
def by_name(outer):
    return {"where": {"config": {"table": outer["name"]}}}


@graph_asset(config=by_name, check_specs=[AssetCheckSpec("fine", asset="located")])
def located():
    found = where()
    return {"result": found, "located_fine": looks_fine(found)}


defs = Definitions(
    assets=[located],
    executor=multiprocess_executor.configured({"start_method": "spawn", "max_concurrent": 2}),
)
"""


def test_config_and_checks_of_graph_assets_in_spawned_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved = code_origin()
    (tmp_path / "spawned_graph_config.py").write_text(SPAWNED_PROJECT)
    monkeypatch.delitem(sys.modules, "spawned_graph_config", raising=False)
    try:
        defs = load_definitions(
            CodeLocationTarget(module_name="spawned_graph_config", working_directory=str(tmp_path))
        )
        result = execute_job(
            defs.get_implicit_asset_job(),
            Instance.get(tmp_path / "home"),
            run_config={"ops": {"located": {"config": {"name": "spawned"}}}},
        )
    finally:
        set_code_origin(saved)
    assert result.success, result.run_error
    pid, table = result.asset_value("located")
    assert pid != os.getpid()
    assert table == "spawned"
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["pid"].value == pid
