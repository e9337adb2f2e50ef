"""A hundred sensors at minimum_interval_seconds=1: every pass a second apart evaluates each of
them once (none late, none twice), and each cursor counts exactly the ticks it committed."""

from __future__ import annotations

import textwrap
from pathlib import Path

from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target
from knoll.daemon.clock import ManualClock
from knoll.daemon.sensors import SensorDuty
from knoll.instance import Instance
from knoll.storage.base import TickStatus
from tests.daemon.helpers import WAIT, at

SENSORS = 100
PASSES = 5

MODULE = textwrap.dedent(
    """
    from knoll import DefaultSensorStatus, Definitions, RunRequest, asset, define_asset_job, sensor

    @asset
    def counted() -> int:
        return 1

    job = define_asset_job("counted_job", selection=[counted])

    def make(index):
        @sensor(
            name=f"s{index:03d}",
            job=job,
            minimum_interval_seconds=1,
            default_status=DefaultSensorStatus.RUNNING,
        )
        def counting(context):
            seen = int(context.cursor or 0) + 1
            context.update_cursor(str(seen))
            return RunRequest(run_key=f"s{index:03d}-{seen}")

        return counting

    defs = Definitions(assets=[counted], jobs=[job], sensors=[make(i) for i in range(COUNT)])
    """
).replace("COUNT", str(SENSORS))


def test_a_hundred_one_second_sensors_tick_every_second_with_exact_cursors(tmp_path: Path) -> None:
    (tmp_path / "many.py").write_text(MODULE)
    target = CodeLocationTarget(python_file=str(tmp_path / "many.py"))
    with (
        start_workspace(workspace_from_target(target, "many"), timeout=WAIT) as servers,
        Instance.get(tmp_path / ".knoll") as instance,
    ):
        clock = ManualClock(at("2024-05-01 00:00"))
        duty = SensorDuty(
            instance, {"many": servers.client("many")}, str(instance.home), clock=clock
        )
        for done in range(1, PASSES + 1):
            duty.one_pass()
            for index in range(SENSORS):
                ticks = instance.storage.get_ticks("many", f"s{index:03d}", limit=100)
                assert len(ticks) == done  # on time: one tick per second, none skipped
            clock.advance(1)
        names = [f"s{index:03d}" for index in range(SENSORS)]
        for name in names:
            ticks = instance.storage.get_ticks("many", name, limit=100)
            assert {t.status for t in ticks} == {TickStatus.SUCCESS}
            state = instance.storage.get_instigator_state("many", name)
            assert state is not None
            assert state.cursor == str(PASSES)
        keys = sorted(
            r.run.tags["knoll/run_key"] for r in instance.storage.get_runs(limit=10_000).records
        )
        assert keys == sorted(f"{name}-{n}" for name in names for n in range(1, PASSES + 1))
