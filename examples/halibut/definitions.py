"""The halibut code location: every asset of ``assets.py`` and the team's jobs."""

from __future__ import annotations

from examples.halibut import assets
from examples.halibut.config import PROJECT_METADATA
from examples.halibut.jobs import halibut_weekly_job
from knoll import Definitions, load_assets_from_modules

defs = Definitions(
    assets=load_assets_from_modules([assets]),
    jobs=[halibut_weekly_job],
    metadata=PROJECT_METADATA,
)
