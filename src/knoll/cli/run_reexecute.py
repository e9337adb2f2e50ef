"""``knoll run reexecute``: run a stored run again, as a new run linked to it.

Registered on the ``run`` group of ``knoll.cli.runs``; ``knoll.cli.main`` imports this module.
"""

from __future__ import annotations

import click

from knoll.cli._common import (
    EXIT_RUN_FAILED,
    fail,
    load_definitions,
    location_options,
    open_instance,
)
from knoll.cli.runs import run

_EPHEMERAL_JOB = "__ephemeral_asset_job__"


@run.command("reexecute")
@click.argument("run_id")
@click.option(
    "--from-failure",
    is_flag=True,
    help="Re-run only the steps that failed, were skipped or never finished, and what depends "
    "on them; the other assets are loaded from where the parent run stored them.",
)
@location_options
def run_reexecute(
    run_id: str,
    from_failure: bool,
    module_name: str | None,
    python_file: str | None,
    working_directory: str | None,
) -> None:
    """Re-execute run RUN_ID (or a unique prefix of its id) with the code of -m/-f, as a new
    run whose parent is RUN_ID. Prints the new run's id; exits 1 if it fails."""
    from knoll.cli._execute import RunReporter, report_outcome, stopped_by_signals
    from knoll.defs.definitions import IMPLICIT_ASSET_JOB
    from knoll.errors import ExecutionError
    from knoll.execution.reexecution import ReexecutionOptions, execute_job

    instance = open_instance()
    parent = instance.get_run(run_id).run
    defs = load_definitions(module_name, python_file, working_directory)
    if parent.job_name == _EPHEMERAL_JOB:
        fail(
            f"run {parent.run_id} was started by materialize() in Python, whose assets are not "
            "a job of the code location: re-execute it in Python with reexecute(...), or "
            "materialize the assets with `knoll asset materialize`."
        )
    if parent.job_name == IMPLICIT_ASSET_JOB:
        job = defs.get_implicit_asset_job()
        keys = sorted(k.to_user_string() for k in parent.asset_selection or ())
        what = f"assets {', '.join(keys)}"
    else:
        job = defs.get_job_def(parent.job_name)
        what = job.describe()
    if from_failure:
        if parent.is_success:
            fail(
                f"run {parent.run_id} succeeded: there is no failure to re-execute from. Drop "
                "--from-failure to re-execute all of its steps."
            )
        options = ReexecutionOptions.from_failure(parent.run_id, instance)
        which = f"steps {', '.join(options.step_selection) or '(none)'}"
    else:
        options = ReexecutionOptions(parent.run_id)
        which = "all steps"
    click.echo(f"re-executing run {parent.run_id} of {what} ({which})")
    # SIGTERM and SIGINT cancel the new run (resources torn down), then exit 143 and 130
    with RunReporter(0, parent.run_id) as reporter, stopped_by_signals(instance, reporter) as into:
        try:
            result = execute_job(job, into, reexecution_options=options)
        except ExecutionError as exc:
            fail(str(exc), EXIT_RUN_FAILED)
        # execute_job takes no event sink: the run's lines are printed once it has finished
        reporter.write_events(result.all_events)
    report_outcome(result)
