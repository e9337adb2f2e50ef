"""A code server evaluates sensors against the instance it is told of (POST /sensors/{name}/tick
with instance_home), on SQLite and on PostgreSQL when KNOLL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import importlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from knoll import materialize
from knoll.codeloc.workspace import WorkspaceProcesses, load_workspace, start_workspace
from knoll.errors import CodeServerError
from knoll.instance import Instance

PROJECT = Path(__file__).parent / "projects" / "sensor_reads"
WAIT = 60  # seconds: only to avoid a hang, never an assertion about speed


@pytest.fixture(scope="module")
def servers() -> Iterator[WorkspaceProcesses]:
    with start_workspace(load_workspace(PROJECT / "workspace.yaml"), timeout=WAIT) as processes:
        yield processes


@pytest.fixture(params=["sqlite", "postgres"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    if request.param == "sqlite":
        (tmp_path / "knoll.yaml").write_text("storage:\n  sqlite:\n    path: knoll.db\n")
        yield tmp_path
        return
    url = os.environ.get("KNOLL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("KNOLL_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against")
    schema = f"knoll_sensor_{os.getpid()}_{secrets.token_hex(4)}"
    (tmp_path / "knoll.yaml").write_text(
        f"storage:\n  postgres:\n    url: {{env: KNOLL_TEST_POSTGRES_URL}}\n    schema: {schema}\n"
    )
    yield tmp_path
    from knoll.storage.sql.engine import postgres_database

    database = postgres_database(url)
    try:
        with database.engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        database.dispose()


def _shop() -> object:
    sys.path.insert(0, str(PROJECT))
    try:
        return importlib.import_module("shop_sensors")
    finally:
        sys.path.remove(str(PROJECT))


def test_sensor_ticks_read_the_instance_at_instance_home(
    servers: WorkspaceProcesses, home: Path
) -> None:
    shop: object = _shop()
    client = servers.client("shop")
    with Instance.get(home) as instance:
        idle = client.evaluate_sensor("orders_landed", instance_home=str(home))
        assert idle.run_requests == ()
        assert idle.skip_message == "No new materialization events found for asset key orders."
        watching = client.evaluate_sensor("retry_on_failure", instance_home=str(home))

        done = materialize([shop.orders], instance=instance)  # type: ignore[attr-defined]
        failed = materialize(
            [shop.flaky_export],  # type: ignore[attr-defined]
            instance=instance,
            raise_on_error=False,
        )

    landed = client.evaluate_sensor("orders_landed", instance_home=str(home))
    assert [(r.run_key, r.job_name) for r in landed.run_requests] == [(done.run_id, "refresh_job")]
    retry = client.evaluate_sensor(
        "retry_on_failure", cursor=watching.cursor, instance_home=str(home)
    )
    assert [r.run_key for r in retry.run_requests] == [f"retry-{failed.run_id}"]
    again = client.evaluate_sensor("orders_landed", cursor=landed.cursor, instance_home=str(home))
    assert again.run_requests == ()


def test_a_sensor_tick_without_an_instance_fails_naming_the_sensor(
    servers: WorkspaceProcesses,
) -> None:
    with pytest.raises(CodeServerError) as info:
        servers.client("shop").evaluate_sensor("orders_landed")
    assert "asset sensor 'orders_landed' (of asset orders)" in str(info.value)
    assert "context has no instance" in str(info.value)


def test_a_multi_asset_sensor_resolves_its_selection_in_the_location(
    servers: WorkspaceProcesses, home: Path
) -> None:
    shop: object = _shop()
    client = servers.client("shop")
    with Instance.get(home) as instance:
        materialize([shop.invoices], instance=instance)  # type: ignore[attr-defined]
        waiting = client.evaluate_sensor("billing_settled", instance_home=str(home))
        assert waiting.run_requests == ()
        materialize([shop.payments], instance=instance)  # type: ignore[attr-defined]
    settled = client.evaluate_sensor(
        "billing_settled", cursor=waiting.cursor, instance_home=str(home)
    )
    assert [(r.run_key, r.job_name) for r in settled.run_requests] == [
        ("invoices+payments", "refresh_job")
    ]
    again = client.evaluate_sensor(
        "billing_settled", cursor=settled.cursor, instance_home=str(home)
    )
    assert again.run_requests == ()


def test_a_multi_asset_sensor_whose_selection_names_no_group_says_so(
    servers: WorkspaceProcesses, home: Path
) -> None:
    with pytest.raises(CodeServerError) as info:
        servers.client("shop").evaluate_sensor("refunds_settled", instance_home=str(home))
    message = str(info.value)
    assert "monitored_assets of multi-asset sensor 'refunds_settled'" in message
    assert "cannot be resolved: asset selection names group 'refunds', which has no" in message


def test_a_multi_asset_sensor_reads_partitions_through_its_location(
    servers: WorkspaceProcesses, home: Path
) -> None:
    shop: object = _shop()
    client = servers.client("shop")
    visits, signups = shop.daily_visits, shop.daily_signups  # type: ignore[attr-defined]
    with Instance.get(home) as instance:
        for day in ("2024-06-01", "2024-06-02"):
            materialize([visits], instance=instance, partition_key=day)
        materialize([signups], instance=instance, partition_key="2024-06-02")
        first = client.evaluate_sensor("funnel_day_complete", instance_home=str(home))
        assert [r.run_key for r in first.run_requests] == ["2024-06-02"]
        # the visits of June 1 were passed over: they stay available for the next tick
        materialize([signups], instance=instance, partition_key="2024-06-01")
    second = client.evaluate_sensor(
        "funnel_day_complete", cursor=first.cursor, instance_home=str(home)
    )
    assert [r.run_key for r in second.run_requests] == ["2024-06-01"]
    idle = client.evaluate_sensor(
        "funnel_day_complete", cursor=second.cursor, instance_home=str(home)
    )
    assert idle.skip_message == "no day has visits and signups yet"
