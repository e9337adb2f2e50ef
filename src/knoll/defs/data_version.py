"""Data versions: a version of an asset's data that the asset itself reports."""

from __future__ import annotations

from dataclasses import dataclass

from knoll.errors import DefinitionError

# What a data version looks like, for the messages that refuse one.
_FIX = (
    "give DataVersion('...') a non-empty string that changes when the data changes, "
    "such as a hash of the data or the date of its newest row"
)


@dataclass(frozen=True)
class DataVersion:
    """The version of the data an asset (partition) holds, as the asset reports it.

    Return it with ``Output(value, data_version=DataVersion("..."))`` or
    ``MaterializeResult(data_version=...)``. When a new materialization reports the same data
    version as the one before, the assets downstream of it do not become stale.
    """

    value: str

    def __str__(self) -> str:
        return self.value


def check_data_version(data_version: object, owner: str) -> str | None:
    """The text of a data version (``DataVersion`` or a plain string), or None without one.

    ``owner`` names what the version belongs to in the message that refuses a bad one.
    """
    if data_version is None:
        return None
    value = data_version.value if isinstance(data_version, DataVersion) else data_version
    if isinstance(value, str) and value:
        return value
    raise DefinitionError(
        f"data version of {owner} must be a non-empty string, got {data_version!r}: {_FIX}."
    )
