"""The halibut team's jobs."""

from __future__ import annotations

from examples.halibut.config import GROUP_NAME, PROJECT_TAGS
from knoll import AssetSelection, define_asset_job

halibut_weekly_job = define_asset_job(
    "halibut_weekly_job",
    selection=AssetSelection.groups(GROUP_NAME),
    tags={**PROJECT_TAGS, "cadence": "weekly"},
    description="Load one week of landings and rebuild the team's weekly views of it.",
)
