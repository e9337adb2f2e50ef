"""``Definitions``: validating a code location together, resolving its jobs, merging, and
loading fixture projects (good and broken) the way a code location is imported."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from knoll import (
    AllPartitionMapping,
    AssetDep,
    AssetIn,
    AssetKey,
    AssetOut,
    AssetSelection,
    AssetSpec,
    CycleError,
    DailyPartitionsDefinition,
    DefinitionError,
    Definitions,
    DuplicateKeyError,
    HourlyPartitionsDefinition,
    JobDefinition,
    ScheduleDefinition,
    SelectionError,
    SensorDefinition,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    define_asset_job,
    in_process_executor,
    job,
    multi_asset,
    op,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"
DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
REGIONS = StaticPartitionsDefinition(["eu", "us"])


@asset
def orders() -> list[int]:
    return [1, 2, 3]


@asset
def revenue(orders: list[int]) -> int:
    return sum(orders)


@asset(group_name="marketing")
def campaigns() -> list[str]:
    return ["spring"]


@op
def hello() -> str:
    return "hello"


@job
def greeting_job() -> None:
    hello()


def never(context: Any) -> None:
    return None


def names(defs: Definitions) -> list[str]:
    return sorted(defs.job_defs)


def selected(job_def: JobDefinition) -> list[str]:
    return sorted(k.to_user_string() for k in job_def.asset_selection or ())


# -- the parts -------------------------------------------------------------------------------


def test_definitions_hold_what_they_were_given() -> None:
    daily_schedule = ScheduleDefinition(cron_schedule="0 0 * * *", job=greeting_job)
    defs = Definitions(
        assets=[orders, revenue],
        jobs=[greeting_job],
        schedules=[daily_schedule],
        resources={"api": "token"},
        executor=in_process_executor,
        metadata={"team": "core"},
    )
    assert defs.assets == [orders, revenue]
    assert defs.schedules == [daily_schedule]
    assert defs.resources == {"api": "token"}
    assert defs.executor is in_process_executor
    assert defs.metadata == {"team": "core"}
    assert defs.get_asset_graph() is defs.asset_graph
    assert defs.get_assets_def("revenue") is revenue
    assert defs.get_schedule_def("greeting_job_schedule") is daily_schedule
    assert defs.get_all_job_defs() == [defs.get_job_def("greeting_job")]


def test_empty_definitions_are_valid() -> None:
    defs = Definitions()
    assert defs.jobs == ()
    assert defs.job_defs == {}
    assert defs.asset_graph.keys == frozenset()


def test_things_that_are_not_jobs() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"Definitions\(jobs=\.\.\.\) got a str \('etl'\): give jobs made with @job, "
        r"graph\.to_job\(\) or define_asset_job\(\)\.",
    ):
        Definitions(jobs=["etl"])  # type: ignore[list-item]


def test_lookups_suggest_names() -> None:
    defs = Definitions(
        assets=[orders],
        jobs=[greeting_job, define_asset_job("orders_job", "orders")],
        sensors=[SensorDefinition("watcher", evaluation_fn=never)],
    )
    with pytest.raises(
        DefinitionError,
        match=r"no job named 'greting_job' in these definitions\. Did you mean 'greeting_job'\? "
        r"Jobs: greeting_job, orders_job\.",
    ):
        defs.get_job_def("greting_job")
    with pytest.raises(DefinitionError, match=r"no sensor named 'wacher'\. Did you mean 'watcher'"):
        defs.get_sensor_def("wacher")
    with pytest.raises(DefinitionError, match=r"no schedule named 'nightly'\.$"):
        defs.get_schedule_def("nightly")
    with pytest.raises(DefinitionError, match=r"no asset 'order' .* Did you mean 'orders'\?"):
        defs.get_assets_def("order")
    with pytest.raises(
        DefinitionError, match=r"no job named 'x' in these definitions\. Jobs: none"
    ):
        Definitions().get_job_def("x")


# -- resources -------------------------------------------------------------------------------


def test_a_missing_resource_is_named_with_a_suggestion() -> None:
    @asset(required_resource_keys=["warehose"])
    def loaded() -> None:
        pass

    with pytest.raises(
        DefinitionError,
        match=r"asset 'loaded' \(.*test_definitions\.py:\d+\) requires resource 'warehose', "
        r"which is not provided\. Did you mean 'warehouse'\? Add it: "
        r"Definitions\(resources=\{'warehose': \.\.\.\}\)\.",
    ):
        Definitions(assets=[loaded], resources={"warehouse": "duckdb"})


def test_a_missing_io_manager_is_a_missing_resource() -> None:
    @asset(io_manager_key="lake_io")
    def stored() -> int:
        return 1

    with pytest.raises(
        DefinitionError, match=r"asset 'stored' .* requires resource 'lake_io', which is not"
    ):
        Definitions(assets=[stored])
    Definitions(assets=[stored], resources={"lake_io": object()})


def test_the_default_io_manager_needs_no_resource() -> None:
    Definitions(assets=[orders, revenue])


def test_resources_of_checks_and_op_jobs_are_validated() -> None:
    from knoll import AssetCheckResult, asset_check

    @asset_check(asset=orders, required_resource_keys=["db"])
    def in_db() -> AssetCheckResult:
        return AssetCheckResult(passed=True)

    with pytest.raises(
        DefinitionError, match=r"asset check 'orders:in_db' \(.*\) requires resource 'db'"
    ):
        Definitions(assets=[orders], asset_checks=[in_db])

    @op(required_resource_keys=["mailer"])
    def send() -> None:
        pass

    @job
    def mail_job() -> None:
        send()

    with pytest.raises(
        DefinitionError,
        match=r"op 'send' in job 'mail_job' \(.*\) requires resource 'mailer', which is not "
        r"provided\. Did you mean 'mail'\?",
    ):
        Definitions(jobs=[mail_job], resources={"mail": "smtp"})


def test_a_jobs_own_resources_count_and_definitions_resources_are_added() -> None:
    @op(required_resource_keys=["mailer"])
    def send() -> None:
        pass

    @job(resource_defs={"mailer": "own"})
    def mail_job() -> None:
        send()

    defs = Definitions(jobs=[mail_job], resources={"mailer": "shared", "other": "x"})
    assert defs.get_job_def("mail_job").resource_defs == {"mailer": "own", "other": "x"}


# -- partition mappings ----------------------------------------------------------------------


def partitioned(key: str, partitions_def: Any, *deps: Any, **kwargs: Any) -> Any:
    def compute() -> None:
        pass

    return asset(key=key, partitions_def=partitions_def, deps=list(deps), **kwargs)(compute)


def test_a_partitioned_dependency_without_a_valid_mapping() -> None:
    daily = partitioned("daily_orders", DAILY)
    by_region = partitioned("by_region", REGIONS, "daily_orders")
    with pytest.raises(
        DefinitionError,
        match=r"the dependency of asset 'by_region' on 'daily_orders' has static partitions "
        r"'eu', 'us', but its upstream has daily partitions from 2024-01-01 \(UTC\), and there "
        r"is no default way to tell which upstream partitions each partition reads\. Give a "
        r"partition mapping",
    ):
        Definitions(assets=[daily, by_region])


def test_a_mapping_that_does_not_fit_the_partitions() -> None:
    daily = partitioned("daily_orders", DAILY)
    wrong = partitioned(
        "by_region",
        REGIONS,
        AssetDep("daily_orders", partition_mapping=TimeWindowPartitionMapping()),
    )
    with pytest.raises(DefinitionError, match=r"TimeWindowPartitionMapping.*static partitions"):
        Definitions(assets=[daily, wrong])


def test_a_partition_mapping_that_is_not_a_mapping() -> None:
    daily = partitioned("daily_orders", DAILY)
    mapping: Any = "all"
    wrong = partitioned("by_region", REGIONS, AssetDep("daily_orders", partition_mapping=mapping))
    with pytest.raises(
        DefinitionError,
        match=r"partition_mapping of the dependency of asset 'by_region' on 'daily_orders' must "
        r"be a PartitionMapping such as TimeWindowPartitionMapping\(\), got str 'all'",
    ):
        Definitions(assets=[daily, wrong])


def test_valid_partitioned_dependencies() -> None:
    daily = partitioned("daily_orders", DAILY)
    hourly = partitioned("hourly", HourlyPartitionsDefinition(start_date="2024-01-01-00:00"))
    Definitions(
        assets=[
            daily,
            hourly,
            partitioned("same_days", DAILY, "daily_orders"),
            partitioned("days_from_hours", DAILY, "hourly"),
            partitioned("unpartitioned", None, "daily_orders"),
            partitioned("from_unpartitioned", DAILY, "orders"),
            orders,
            partitioned(
                "all_days",
                REGIONS,
                AssetDep("daily_orders", partition_mapping=AllPartitionMapping()),
            ),
        ]
    )


def test_a_static_mapping_given_on_an_input() -> None:
    @asset(partitions_def=REGIONS)
    def regional() -> int:
        return 1

    @asset(
        partitions_def=StaticPartitionsDefinition(["europe", "america"]),
        ins={
            "regional": AssetIn(
                partition_mapping=StaticPartitionMapping({"eu": "europe", "us": "america"})
            )
        },
    )
    def continental(regional: int) -> int:
        return regional

    Definitions(assets=[regional, continental])


# -- asset jobs ------------------------------------------------------------------------------


def test_define_asset_job_is_resolved_against_the_assets() -> None:
    defs = Definitions(
        assets=[orders, revenue, campaigns],
        jobs=[
            define_asset_job("sales", selection=AssetSelection.keys("orders").downstream()),
            define_asset_job("marketing", selection="group:marketing", tags={"team": "mkt"}),
            define_asset_job("everything"),
        ],
    )
    assert selected(defs.get_job_def("sales")) == ["orders", "revenue"]
    assert selected(defs.get_job_def("marketing")) == ["campaigns"]
    assert selected(defs.get_job_def("everything")) == ["campaigns", "orders", "revenue"]
    marketing = defs.get_job_def("marketing")
    assert marketing.is_asset_job
    assert marketing.tags == {"team": "mkt"}
    assert marketing.asset_graph is defs.asset_graph


def test_a_resolved_asset_job_runs() -> None:
    from knoll import InMemoryIOManager

    defs = Definitions(
        assets=[orders, revenue],
        jobs=[define_asset_job("sales", "orders+")],
        resources={"io_manager": InMemoryIOManager()},
    )
    result = defs.get_job_def("sales").execute_in_process()
    assert result.success
    assert result.asset_value("revenue") == 6


def test_an_asset_job_gets_the_partitions_of_its_assets() -> None:
    daily = partitioned("daily_orders", DAILY)
    defs = Definitions(
        assets=[daily, orders],
        jobs=[define_asset_job("j", "*"), define_asset_job("plain", "orders")],
    )
    assert defs.get_job_def("j").partitions_def == DAILY
    assert defs.get_job_def("plain").partitions_def is None


def test_an_asset_job_over_assets_with_different_partitions() -> None:
    daily = partitioned("daily_orders", DAILY)
    regional = partitioned("regional", REGIONS)
    with pytest.raises(
        DefinitionError,
        match=r"asset job 'mixed' selects assets with different partitions \(daily partitions "
        r"from 2024-01-01 \(UTC\): daily_orders; static partitions 'eu', 'us': regional\)\. A job "
        r"runs one partition at a time: split it into one job per partitions definition\.",
    ):
        Definitions(assets=[daily, regional], jobs=[define_asset_job("mixed", "*")])


def test_the_implicit_job_over_different_partitions_does_not_name_an_internal_job() -> None:
    defs = Definitions(assets=[partitioned("daily_orders", DAILY), partitioned("r", REGIONS)])
    with pytest.raises(
        DefinitionError, match=r"^the selection holds assets with different partitions"
    ):
        defs.get_implicit_asset_job()
    assert selected(defs.get_implicit_asset_job("daily_orders")) == ["daily_orders"]


def test_an_asset_job_that_selects_nothing() -> None:
    with pytest.raises(DefinitionError, match=r"asset job 'empty' selects no assets \(\*\)"):
        Definitions(assets=[AssetSpec("external")], jobs=[define_asset_job("empty")])


def test_an_asset_job_with_a_bad_selection() -> None:
    with pytest.raises(SelectionError, match=r"names 'revenu', .* Did you mean 'revenue'\?"):
        Definitions(assets=[orders, revenue], jobs=[define_asset_job("j", "revenu")])


def test_invalid_job_names_and_tags() -> None:
    with pytest.raises(DefinitionError, match=r"job name 'daily job' is not valid"):
        define_asset_job("daily job")
    with pytest.raises(DefinitionError, match=r"tag 'k' of job 'j' has the int value 1"):
        define_asset_job("j", tags={"k": 1})  # type: ignore[dict-item]


def test_implicit_asset_job() -> None:
    defs = Definitions(assets=[AssetSpec("raw"), orders, revenue])
    assert selected(defs.get_implicit_asset_job()) == ["orders", "revenue"]
    assert selected(defs.get_implicit_asset_job(["revenue"])) == ["revenue"]


# -- schedules and sensors -------------------------------------------------------------------


def test_a_schedule_targeting_a_missing_job() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"schedule 'daily_jb_schedule' targets job 'daily_jb', which is not defined\. Did "
        r"you mean 'daily_job'\? Add the job to Definitions\(jobs=\[\.\.\.\]\)\.",
    ):
        Definitions(
            assets=[orders],
            jobs=[define_asset_job("daily_job", "orders")],
            schedules=[ScheduleDefinition(cron_schedule="0 0 * * *", job_name="daily_jb")],
        )


def test_a_sensor_targeting_a_missing_job() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"sensor 'watch' targets job 'greeting', which is not defined\. Did you mean "
        r"'greeting_job'\?",
    ):
        Definitions(
            jobs=[greeting_job],
            sensors=[SensorDefinition("watch", evaluation_fn=never, job_name="greeting")],
        )


def test_jobs_given_to_schedules_and_sensors_are_added() -> None:
    sales = define_asset_job("sales", "orders+")
    other = greeting_job.graph_def.to_job(name="other_greeting")  # type: ignore[union-attr]
    defs = Definitions(
        assets=[orders, revenue],
        schedules=[ScheduleDefinition(cron_schedule="0 0 * * *", job=sales)],
        sensors=[SensorDefinition("both", evaluation_fn=never, jobs=[greeting_job, other])],
    )
    assert names(defs) == ["greeting_job", "other_greeting", "sales"]
    assert selected(defs.get_job_def("sales")) == ["orders", "revenue"]


def test_every_job_of_a_multi_job_sensor_must_exist() -> None:
    broken = define_asset_job("needs_assets", "orders")
    with pytest.raises(SelectionError, match=r"names 'orders', which is not an asset"):
        Definitions(sensors=[SensorDefinition("s", evaluation_fn=never, jobs=[broken])])


def test_asset_targets_get_implicit_jobs() -> None:
    defs = Definitions(
        assets=[orders, revenue, campaigns],
        schedules=[
            ScheduleDefinition("nightly", cron_schedule="0 0 * * *", target=[revenue]),
            ScheduleDefinition(
                "marketing", cron_schedule="0 0 * * *", target=AssetSelection.groups("marketing")
            ),
        ],
        sensors=[SensorDefinition("on_orders", evaluation_fn=never, target="orders+")],
    )
    assert names(defs) == [
        "__anonymous_asset_job_marketing",
        "__anonymous_asset_job_nightly",
        "__anonymous_asset_job_on_orders",
    ]
    assert selected(defs.get_job_def("__anonymous_asset_job_nightly")) == ["revenue"]
    assert selected(defs.get_job_def("__anonymous_asset_job_marketing")) == ["campaigns"]
    assert selected(defs.get_job_def("__anonymous_asset_job_on_orders")) == ["orders", "revenue"]


def test_an_asset_target_over_part_of_a_multi_asset_names_the_schedule() -> None:
    @multi_asset(outs={"left": AssetOut(), "right": AssetOut()})
    def halves() -> tuple[int, int]:
        return 1, 2

    with pytest.raises(
        DefinitionError,
        match=r"the target of 'left_only' holds part of a multi-asset: multi-asset 'halves' "
        r"\(left, right\) cannot be split",
    ):
        Definitions(
            assets=[halves],
            schedules=[ScheduleDefinition("left_only", cron_schedule="0 0 * * *", target="left")],
        )
    with pytest.raises(DefinitionError, match=r"^the selection holds part of a multi-asset"):
        Definitions(assets=[halves]).get_implicit_asset_job("left")


def test_an_asset_target_that_is_not_an_asset() -> None:
    with pytest.raises(SelectionError, match=r"names 'revenu', .* Did you mean 'revenue'\?"):
        Definitions(
            assets=[orders, revenue],
            schedules=[ScheduleDefinition("n", cron_schedule="0 0 * * *", target="revenu")],
        )


def test_duplicate_names() -> None:
    other = greeting_job.graph_def.to_job(name="greeting_job")  # type: ignore[union-attr]
    with pytest.raises(
        DuplicateKeyError,
        match=r"two jobs are named 'greeting_job'; job names must be unique in a code location",
    ):
        Definitions(jobs=[greeting_job, other])
    with pytest.raises(
        DuplicateKeyError, match=r"two schedules are named 'greeting_job_schedule'; rename one"
    ):
        Definitions(
            jobs=[greeting_job],
            schedules=[
                ScheduleDefinition(cron_schedule="0 0 * * *", job=greeting_job),
                ScheduleDefinition(cron_schedule="0 1 * * *", job=greeting_job),
            ],
        )
    with pytest.raises(DuplicateKeyError, match=r"two sensors are named 's'; rename one"):
        Definitions(
            sensors=[
                SensorDefinition("s", evaluation_fn=never),
                SensorDefinition("s", evaluation_fn=never),
            ]
        )


def test_the_same_job_object_given_twice_is_one_job() -> None:
    defs = Definitions(
        jobs=[greeting_job, greeting_job],
        schedules=[ScheduleDefinition(cron_schedule="0 0 * * *", job=greeting_job)],
    )
    assert names(defs) == ["greeting_job"]


# -- merge -----------------------------------------------------------------------------------


def test_merge_combines_everything() -> None:
    sales = Definitions(
        assets=[orders, revenue], jobs=[define_asset_job("sales", "*")], resources={"db": "x"}
    )
    marketing = Definitions(
        assets=[campaigns],
        jobs=[greeting_job],
        resources={"db": sales.resources["db"], "crm": "y"},
        executor=in_process_executor,
        metadata={"team": "mkt"},
    )
    merged = Definitions.merge(sales, marketing)
    assert merged.asset_graph.keys == sales.asset_graph.keys | marketing.asset_graph.keys
    assert names(merged) == ["greeting_job", "sales"]
    # the asset job is resolved again, against every merged asset
    assert selected(merged.get_job_def("sales")) == ["campaigns", "orders", "revenue"]
    assert merged.resources == {"db": "x", "crm": "y"}
    assert merged.executor is in_process_executor
    assert merged.metadata == {"team": "mkt"}


def test_merging_the_same_objects_twice() -> None:
    first = Definitions(assets=[orders], jobs=[greeting_job])
    merged = Definitions.merge(first, Definitions(assets=[orders], jobs=[greeting_job]))
    assert merged.asset_graph.keys == frozenset({AssetKey("orders")})
    assert names(merged) == ["greeting_job"]


def test_merge_conflicts() -> None:
    with pytest.raises(
        DuplicateKeyError,
        match=r"Definitions\.merge: resource 'db' is defined differently in two of the merged "
        r"definitions; keep one\.",
    ):
        Definitions.merge(Definitions(resources={"db": "a"}), Definitions(resources={"db": "b"}))

    def second_orders() -> int:
        return 2

    with pytest.raises(DuplicateKeyError, match=r"asset key 'orders' is defined twice"):
        Definitions.merge(
            Definitions(assets=[orders]),
            Definitions(assets=[asset(name="orders")(second_orders)]),
        )


# -- fixture projects, imported as code locations are ----------------------------------------


@pytest.fixture
def load_project() -> Iterator[Callable[[str], ModuleType]]:
    """Import a module of ``tests/fixtures`` by name, then forget it (and its package)."""
    sys.path.insert(0, str(FIXTURES))
    importlib.invalidate_caches()
    loaded: list[str] = []

    def load(module_name: str) -> ModuleType:
        loaded.append(module_name.partition(".")[0])
        return importlib.import_module(module_name)

    try:
        yield load
    finally:
        sys.path.remove(str(FIXTURES))
        for name in list(sys.modules):
            if name.partition(".")[0] in loaded:
                del sys.modules[name]


def test_a_valid_project_loads(load_project: Callable[[str], ModuleType]) -> None:
    defs = load_project("knoll_fixture_shop.definitions").defs
    assert isinstance(defs, Definitions)
    graph = defs.get_asset_graph()
    assert sorted(k.to_user_string() for k in graph.keys) == [
        "orders",
        "raw_orders",
        "regions/north_order_count",
        "regions/south_order_count",
        "revenue",
    ]
    assert graph.executable_keys == graph.keys - {AssetKey("raw_orders")}
    assert [k.to_user_string() for k in graph.check_keys] == ["revenue:revenue_not_negative"]
    assert names(defs) == ["__anonymous_asset_job_nightly_counts", "finance_job"]
    assert selected(defs.get_job_def("finance_job")) == ["revenue"]
    assert selected(defs.get_job_def("__anonymous_asset_job_nightly_counts")) == [
        "regions/north_order_count",
        "regions/south_order_count",
    ]
    assert defs.get_schedule_def("finance_job_schedule").job_name == "finance_job"
    assert defs.get_assets_def("orders").input_keys == {"rows": AssetKey("raw_orders")}


def test_a_project_with_a_cycle_fails_to_load_with_the_cycle(
    load_project: Callable[[str], ModuleType],
) -> None:
    with pytest.raises(
        CycleError,
        match=r"assets depend on each other in a cycle: a -> b -> c -> a\. Remove one of these "
        r"dependencies",
    ):
        load_project("knoll_fixture_cycle")
    assert "knoll_fixture_cycle" not in sys.modules


def test_a_project_that_fails_to_import(load_project: Callable[[str], ModuleType]) -> None:
    with pytest.raises(ImportError, match=r"cannot import name 'material' from 'knoll'"):
        load_project("knoll_fixture_import_error")
    # one broken project does not stop another from loading
    assert isinstance(load_project("knoll_fixture_shop.definitions").defs, Definitions)


def test_a_project_with_a_misspelled_dependency(
    load_project: Callable[[str], ModuleType],
) -> None:
    # As in Dagster the misspelled key is an external asset; runs warn of the near miss.
    defs = load_project("knoll_fixture_missing_dep").defs
    graph = defs.get_asset_graph()
    assert graph.near_misses() == {AssetKey("custmers"): AssetKey("customers")}
    assert AssetKey("custmers") in graph.parents(AssetKey("mailing_list"))


def decorator_line(path: Path, function: str) -> int:
    """The line of the decorator above ``def function`` (where a definition's source points)."""
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"def {function}("))
    while lines[index - 1].startswith("@"):
        index -= 1
    return index + 1


def test_duplicate_keys_in_two_modules_name_both_places(
    load_project: Callable[[str], ModuleType],
) -> None:
    sales = FIXTURES / "knoll_fixture_duplicates" / "sales.py"
    finance = FIXTURES / "knoll_fixture_duplicates" / "finance.py"
    first = re.escape(f"{sales}:{decorator_line(sales, 'orders')}")
    second = re.escape(f"{finance}:{decorator_line(finance, 'orders')}")
    with pytest.raises(
        DuplicateKeyError,
        match=rf"asset key 'orders' is defined twice: by asset 'orders' at {first} and by asset "
        rf"'orders' at {second}\. Rename one of them",
    ):
        load_project("knoll_fixture_duplicates.definitions")
