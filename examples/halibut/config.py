"""The halibut team's constants: who owns its assets, how they are tagged and grouped."""

from __future__ import annotations

from knoll import MetadataValue

TEAM = "halibut"
GROUP_NAME = "halibut"

TEAM_TAGS = {"team": TEAM}
"""Tags on every asset and run of the team, to filter them in the UI."""

PROJECT_TAGS = {**TEAM_TAGS, "project": "landings"}

OWNERS = ["team:halibut", "fish-data@halibut.example.com"]

PROJECT_METADATA = {
    "docs": MetadataValue.url("https://wiki.halibut.example.com/landings"),
    "contact": "#halibut-data",
}
"""Metadata shown on every asset of the project."""

WEEKS_START = "2024-01-01"
"""The Monday the first weekly partition starts on."""
