"""What both versions of the cereal pipeline share: the bundled data and the output folder."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from knoll import ConfigurableResource

CEREAL_CSV = Path(__file__).parent / "data" / "cereal.csv"
"""The bundled data set: one made-up cereal per row."""

TEXT_COLUMNS = frozenset({"name", "mfr", "type"})

Cereal = dict[str, Any]
"""One row of cereal.csv: name, mfr and type as text, every other column as a number."""


def read_cereals(path: Path = CEREAL_CSV) -> list[Cereal]:
    """The rows of a cereal CSV file, numbers parsed."""
    with path.open(newline="") as handle:
        return [
            {k: v if k in TEXT_COLUMNS else _number(v) for k, v in row.items()}
            for row in csv.DictReader(handle)
        ]


def _number(text: str) -> int | float:
    return int(text) if text.lstrip("-").isdigit() else float(text)


def sugar_per_cup(cereal: Cereal) -> float:
    """Grams of sugar in one cup of the cereal (the data gives sugar per serving)."""
    return float(cereal["sugars"]) / float(cereal["cups"])


def write_csv(path: Path, rows: Sequence[Cereal]) -> None:
    """Write ``rows`` (all with the same columns) to ``path`` as CSV, header first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(rows[0]) if rows else ["name"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def markdown_preview(rows: Sequence[Cereal], columns: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` rows as a markdown table of ``columns``."""
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(_cell(row[c]) for c in columns) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


class OutputDirectory(ConfigurableResource):
    """The folder reports are written to; by default ``$KNOLL_HOME/cereal`` (``.knoll/cereal``)."""

    path: str | None = None

    def file(self, name: str) -> Path:
        """The path of report ``name`` in this folder."""
        if self.path is not None:
            return Path(self.path) / name
        return Path(os.environ.get("KNOLL_HOME", ".knoll")) / "cereal" / name
