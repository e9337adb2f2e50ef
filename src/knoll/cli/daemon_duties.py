"""The daemon's run retries, retention and freshness passes, saying what they did (``knoll
daemon run``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from knoll.instance import Instance
    from knoll.instance.launcher import RunLauncher


def retry_pass_echo(instance: Instance, launcher: RunLauncher) -> None:
    """One pass of the ``run_retries`` duty; a retry that could not be made raises after the
    pass (its heartbeat records why), and is tried again at the next pass."""
    from knoll.daemon.retries import retry_pass
    from knoll.errors import KnollError

    report = retry_pass(instance, launcher)
    for failed, retry in report.retried:
        click.echo(f"run {failed} FAILURE: retry queued as run {retry}")
    for failed in report.exhausted:
        click.echo(f"run {failed} FAILURE: no retry left, not retried")
    for failed, why in report.skipped:
        click.echo(f"run {failed} FAILURE: not retried ({why})")
    if report.pending:
        failures = "; ".join(f"run {run_id}: {why}" for run_id, why in report.pending)
        raise KnollError(
            f"could not make the retry of {len(report.pending)} failed run(s), tried again at "
            f"the next pass: {failures}"
        )


def retention_pass_echo(instance: Instance) -> None:
    """One pass of the ``retention`` duty."""
    from knoll.daemon.retention import retention_pass

    click.echo(retention_pass(instance).summary())


def freshness_pass_echo(instance: Instance, launcher: RunLauncher) -> None:
    """One pass of the ``freshness`` duty over the code locations of ``launcher``; a location
    that could not be read raises after the pass (its heartbeat records why)."""
    from knoll.codeloc.client import CodeServerClient
    from knoll.daemon.freshness import freshness_pass
    from knoll.errors import KnollError

    clients = [c for c in launcher.every_client() if isinstance(c, CodeServerClient)]
    report = freshness_pass(instance, clients)
    for change in report.changes:
        click.echo(
            f"asset {change.asset_key.to_user_string()} {change.state.value}: {change.reason}"
        )
    if report.unreadable:
        failures = "; ".join(f"{where}: {why}" for where, why in report.unreadable)
        raise KnollError(f"could not read the freshness policies of {failures}")
