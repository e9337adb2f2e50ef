"""The snow API client: a local one that reads bundled fixtures, and a production one over HTTP.

Assets ask for a ``SnowApiClient``; which implementation they get is decided once, when the
``Definitions`` are built (see ``definitions.py``).
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from knoll import ConfigurableResource

FIXTURES_DIR = Path(__file__).parent / "data"

SnowReport = dict[str, Any]
"""A resort's report as the API returns it: ``resort``, ``name``, ``elevation_m`` and
``readings``, one dict per day (``date``, ``new_snow_cm``, ``base_depth_cm``,
``temperature_c``, ``lifts_open``)."""


class SnowApiClient(ConfigurableResource):
    """What the assets need from a snow report service."""

    def get_report(self, resort: str) -> SnowReport:
        """The latest report of ``resort`` (its id, like ``powder_ridge``)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_report")


class LocalSnowApiClient(SnowApiClient):
    """Answers from JSON files named ``<resort>.json``: for development and tests, no network."""

    fixtures_dir: str = str(FIXTURES_DIR)

    def get_report(self, resort: str) -> SnowReport:
        path = Path(self.fixtures_dir) / f"{resort}.json"
        report: SnowReport = json.loads(path.read_text())
        return report


class ProductionSnowApiClient(SnowApiClient):
    """Calls the snow report HTTP API; the key is read from the environment when a run starts."""

    api_key: str
    base_url: str = "https://api.snow-report.example.com/v1"
    timeout_seconds: float = 10.0

    def get_report(self, resort: str) -> SnowReport:
        url = f"{self.base_url}/resorts/{urllib.parse.quote(resort)}/report"
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.api_key}"})
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            report: SnowReport = json.load(response)
        return report
