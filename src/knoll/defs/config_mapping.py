"""Config mappings: a job's run config written in a smaller, outer shape of its own."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from knoll.defs.config_schema import Field, check_config, normalize_config_schema
from knoll.defs.run_config import RunConfig
from knoll.errors import DefinitionError, InvalidConfigError, UserCodeError

__all__ = ["ConfigMapping"]


class ConfigMapping:
    """Maps outer config (checked against ``config_schema``) to the job's run config.

    Given as ``@job(config=ConfigMapping(...))``, a run supplies config of the outer shape and
    ``config_fn`` turns it into the ``ops``/``resources`` document the job's ops take.
    ``receive_processed_config_values=False`` passes the outer config as given, without the
    defaults of ``config_schema`` filled in.
    """

    def __init__(
        self,
        config_fn: Callable[[Any], Any],
        config_schema: Any = None,
        receive_processed_config_values: bool | None = None,
        description: str | None = None,
    ) -> None:
        if not callable(config_fn):
            raise DefinitionError(
                f"ConfigMapping needs config_fn, a function from the outer config to run config; "
                f"got {type(config_fn).__name__}."
            )
        self.config_fn = config_fn
        self.config_schema: Field | None = normalize_config_schema(config_schema, "ConfigMapping")
        self.receive_processed_config_values = receive_processed_config_values is not False
        self.description = description

    def resolve(self, outer: Any, owner: str) -> dict[str, Any]:
        """Check ``outer`` against the schema and map it to a run config document."""
        value = outer
        if self.config_schema is not None:
            checked = check_config(self.config_schema, outer)
            if checked.errors:
                raise InvalidConfigError(f"the config mapping of {owner}", checked.errors)
            if self.receive_processed_config_values:
                value = checked.value
        try:
            mapped = self.config_fn(value)
        except Exception as exc:
            raise UserCodeError(
                f"the config_fn of the config mapping of {owner} raised "
                f"{type(exc).__name__}: {exc}",
                exc,
            ) from exc
        if isinstance(mapped, RunConfig):
            return mapped.to_config_dict()
        if not isinstance(mapped, Mapping):
            raise DefinitionError(
                f"the config_fn of the config mapping of {owner} returned "
                f"{type(mapped).__name__}; return a run config dict (with 'ops' and "
                "'resources') or a RunConfig."
            )
        return dict(mapped)
