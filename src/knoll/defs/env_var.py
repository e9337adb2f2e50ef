"""``EnvVar``: a resource field whose value is read from the environment when a run starts.

An ``EnvVar`` holds the *name* of a variable, never its value, so a resource built with one can
be shown in logs, snapshots and the UI without leaking a secret. Knoll resolves it when it
initialises the resource for a run.
"""

from __future__ import annotations

import builtins
import os

from knoll.errors import DefinitionError, InvalidConfigError


def _check_var_name(name: object, how: str) -> str:
    if not isinstance(name, str) or not name or "=" in name or "\x00" in name:
        raise DefinitionError(
            f"{how}({name!r}): give the name of an environment variable, for example "
            f"{how}('DB_PASSWORD')."
        )
    return name


class EnvVar(str):
    """The name of an environment variable, used as a ``str`` field value of a resource.

    ``password: str = EnvVar("DB_PASSWORD")`` reads ``DB_PASSWORD`` when a run starts, and shows
    ``EnvVar('DB_PASSWORD')`` (never the value) everywhere the resource is displayed.
    """

    __slots__ = ()

    def __new__(cls, name: str) -> EnvVar:
        return super().__new__(cls, _check_var_name(name, "EnvVar"))

    @property
    def env_var_name(self) -> str:
        """The name of the environment variable."""
        return str.__str__(self)

    def get_value(self, default: str | None = None) -> str | None:
        """The variable's current value, or ``default`` when it is not set."""
        return os.environ.get(self.env_var_name, default)

    def __repr__(self) -> str:
        return f"EnvVar({self.env_var_name!r})"

    @staticmethod
    def int(name: str) -> IntEnvVar:
        """An environment variable for an ``int`` field: ``port: int = EnvVar.int("DB_PORT")``."""
        return IntEnvVar(name)


class IntEnvVar(builtins.int):
    """The name of an environment variable holding an integer; made by ``EnvVar.int(name)``.

    It is an ``int`` (with the placeholder value 0) so that it fits an ``int`` field until the
    run starts and knoll replaces it with the variable's value.
    """

    _env_var_name: str

    def __new__(cls, name: str) -> IntEnvVar:
        checked = _check_var_name(name, "EnvVar.int")
        self = super().__new__(cls, 0)
        self._env_var_name = checked
        return self

    @property
    def env_var_name(self) -> str:
        """The name of the environment variable."""
        return self._env_var_name

    def get_value(self, default: builtins.int | None = None) -> builtins.int | None:
        """The variable's value as an int, or ``default`` when it is not set."""
        raw = os.environ.get(self._env_var_name)
        if raw is None:
            return default
        try:
            return builtins.int(raw.strip())
        except ValueError:
            # The text may be a secret: say what is wrong without showing it.
            raise InvalidConfigError(
                f"environment variable {self._env_var_name!r}",
                [
                    f"{self._env_var_name} must hold an integer (for example 5432); its value "
                    "(not shown) is not one"
                ],
            ) from None

    def __repr__(self) -> str:
        return f"EnvVar.int({self._env_var_name!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[type[IntEnvVar], tuple[str]]:
        return (IntEnvVar, (self._env_var_name,))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IntEnvVar):
            return self._env_var_name == other._env_var_name
        return NotImplemented

    def __hash__(self) -> builtins.int:
        return hash(("IntEnvVar", self._env_var_name))


AnyEnvVar = EnvVar | IntEnvVar
"""Either kind of environment-variable marker."""


def is_env_var(value: object) -> bool:
    """True for an ``EnvVar`` or an ``EnvVar.int`` marker."""
    return isinstance(value, (EnvVar, IntEnvVar))
