"""A sensor that requests one run per new file and keeps the last file seen as its cursor."""

import dagster as dg

FILES = ["2024-01-01.csv", "2024-01-02.csv", "2024-01-03.csv"]


@dg.asset
def imported_files() -> int:
    return len(FILES)


import_job = dg.define_asset_job("import_job", selection=[imported_files])


@dg.sensor(job=import_job)
def new_files(context: dg.SensorEvaluationContext):
    seen = context.cursor or ""
    new = [name for name in FILES if name > seen]
    if not new:
        return dg.SkipReason("no new files")
    context.update_cursor(new[-1])
    return [dg.RunRequest(run_key=name, tags={"file": name}) for name in new]


defs = dg.Definitions(assets=[imported_files], jobs=[import_job], sensors=[new_files])
