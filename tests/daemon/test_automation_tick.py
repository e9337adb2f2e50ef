"""POST /automation/tick of a real code server, and the automation settings: what a user
sees when a condition raises, a request is malformed or knoll.yaml is wrong."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import WorkspaceProcesses, start_workspace, workspace_from_target
from knoll.daemon.automation import automation_pass
from knoll.daemon.clock import SystemClock
from knoll.errors import CodeServerError, InvalidConfigError, KnollError
from knoll.instance import Instance
from knoll.instance.config import AutomationSettings, load_settings
from tests.cli.helpers import knoll_env

WAIT = 60.0  # seconds: only to avoid a hang

PROJECT = textwrap.dedent(
    """
    from knoll import AutomationCondition, AutomationContext, AutomationResult, Definitions, asset

    class Broken(AutomationCondition):
        def evaluate(self, context: AutomationContext) -> AutomationResult:
            raise RuntimeError("the calendar service is down")

    @asset(automation_condition=AutomationCondition.eager() & Broken())
    def orders() -> int:
        return 1

    defs = Definitions(assets=[orders])
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "broken_shop.py").write_text(PROJECT)
    (tmp_path / ".knoll").mkdir()
    return tmp_path


@pytest.fixture
def server(project: Path) -> Iterator[WorkspaceProcesses]:
    target = CodeLocationTarget("broken_shop", working_directory=str(project))
    env = knoll_env(project)
    with start_workspace(workspace_from_target(target), env=env, timeout=WAIT) as processes:
        yield processes


def test_a_condition_that_raises_names_the_asset(project: Path, server: WorkspaceProcesses) -> None:
    client = server.client("broken_shop")
    home = str(project / ".knoll")
    with Instance.get(home):
        pass  # creates the database
    with pytest.raises(CodeServerError) as raised:
        client.automation_tick(home, 1, datetime.now(UTC))
    message = str(raised.value)
    assert "automation tick failed" in message
    assert "condition 'Broken' of asset 'orders' raised RuntimeError" in message
    assert "the calendar service is down" in message


def test_a_failed_tick_keeps_the_cursor_and_says_which_location(
    project: Path, server: WorkspaceProcesses
) -> None:
    with Instance.get(project / ".knoll") as instance:
        clients = {"broken_shop": server.client("broken_shop")}
        with pytest.raises(
            KnollError,
            match=r"code location\(s\) broken_shop: RequestRefusedError: automation tick failed",
        ):
            automation_pass(instance, clients, SystemClock(), interval_seconds=30)
        cursor = instance.storage.get_automation_cursor("broken_shop")
        assert (cursor.evaluation_id, cursor.pending) == (0, None)


def test_malformed_ticks_are_refused(project: Path, server: WorkspaceProcesses) -> None:
    client = server.client("broken_shop")
    with pytest.raises(CodeServerError, match=r"HTTP 400.*'evaluation_id' must be an integer"):
        client._request(
            "POST", "/automation/tick", body={"instance_home": str(project), "evaluation_id": "1"}
        )
    with pytest.raises(CodeServerError, match=r"HTTP 400.*'evaluation_time' .* needs a UTC offset"):
        client._request(
            "POST",
            "/automation/tick",
            body={
                "instance_home": str(project),
                "evaluation_id": 1,
                "evaluation_time": "2024-05-01T06:00:00",
            },
        )
    with pytest.raises(CodeServerError, match="evaluation_time must be timezone-aware"):
        client.automation_tick(str(project), 1, datetime(2024, 5, 1))


def test_automation_settings(tmp_path: Path) -> None:
    assert load_settings(tmp_path).automation == AutomationSettings(True, 30.0)
    (tmp_path / "knoll.yaml").write_text("automation:\n  enabled: false\n  interval_seconds: 5\n")
    assert load_settings(tmp_path).automation == AutomationSettings(False, 5.0)
    (tmp_path / "knoll.yaml").write_text("automation:\n  interval_seconds: 0\n")
    with pytest.raises(InvalidConfigError, match="at path automation:interval_seconds: 0"):
        load_settings(tmp_path)
