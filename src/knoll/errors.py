"""Every error knoll raises, in one place.

The hierarchy::

    KnollError                       anything knoll raises on purpose
    ├── DefinitionError              a declaration is wrong (raised when it is built or validated)
    │   ├── CycleError               assets or ops depend on each other in a loop
    │   └── DuplicateKeyError        two definitions produce the same asset key or name
    ├── InvalidConfigError           run, op, asset or resource config does not match its schema
    │   └── ConfigFileError          a YAML file cannot be read: not UTF-8, bad syntax, a key twice
    ├── EnvVarNotSetError            an EnvVar used by a resource is not set when a run starts
    ├── PartitionKeyError            a partition key that the partitions definition does not hold
    ├── SelectionError               an asset selection names something that does not exist
    ├── InvalidInvocationError       an asset, op, schedule or sensor was called the wrong way
    ├── SerializationError           a JSON record could not be written or read back
    ├── CronError                    a cron string that cannot be parsed
    ├── RunStatusError               a run status change that the state machine forbids
    ├── StorageError                 storage refused or failed a read or write
    │   ├── StorageWriteError        the database could not write (disk full, read-only, I/O error)
    │   └── DatabaseVersionError     the database's schema revision is not the one the code expects
    ├── AccountError                 a user or API token that cannot be made or changed that way
    │   ├── UnknownAccountError      no user or API token has that name or id
    │   └── AccountExistsError       a user with that name exists already
    ├── WorkspaceError               a workspace.yaml does not describe valid code locations
    ├── CodeServerError              a code server cannot start, does not answer, or refused
    │   └── RequestRefusedError      it answered that a request does not fit its definitions
    ├── AlertDeliveryError           a failure alert's mail or webhook server refused it or was down
    └── ExecutionError               something went wrong while a run executed
        ├── UserCodeError            user code raised; wraps the original, traceback kept
        ├── TypeCheckError           a value did not match the type annotation of an input/output
        └── RunFailedError           a run failed (raised by ``raise_on_error=True``)

    Failure                          raised by user code to fail a step with a description
    RetryRequested                   raised by user code to ask for the step to be retried

Messages name the object, say what was wrong and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class KnollError(Exception):
    """Base class of every error knoll raises on purpose."""


class DefinitionError(KnollError):
    """A declaration (asset, op, job, schedule, ...) is invalid."""


class CycleError(DefinitionError):
    """Definitions depend on each other in a loop."""


class DuplicateKeyError(DefinitionError):
    """Two definitions produce the same asset key, or share a name that must be unique."""


class InvalidConfigError(KnollError):
    """Config does not match its schema. ``errors`` lists each problem with its path."""

    def __init__(self, subject: str, errors: Sequence[str]) -> None:
        self.subject = subject
        self.errors = tuple(errors)
        count = len(self.errors)
        header = f"Invalid config for {subject}: {count} error{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *(f"  - {e}" for e in self.errors)]))


class ConfigFileError(InvalidConfigError):
    """A YAML file (knoll.yaml, workspace.yaml, run config) cannot be read at all: it is not
    UTF-8, its syntax is wrong, or a mapping gives a key twice. The message is one line."""

    def __init__(self, subject: str, problem: str) -> None:
        self.subject = subject
        self.errors = (problem,)
        KnollError.__init__(self, f"{subject}: {problem}")


class EnvVarNotSetError(KnollError):
    """An ``EnvVar`` used by a resource is not set in the environment."""

    def __init__(self, var_name: str, where: str) -> None:
        self.var_name = var_name
        super().__init__(
            f"Environment variable {var_name!r} used by {where} is not set. "
            f"Set {var_name} in the environment the run starts in, or give the value directly."
        )


class PartitionKeyError(KnollError):
    """A partition key is not part of the partitions definition."""


class SelectionError(KnollError):
    """An asset selection names an asset, group or job that does not exist."""


class InvalidInvocationError(KnollError):
    """An asset, op, schedule or sensor was invoked with the wrong arguments."""


class SerializationError(KnollError):
    """A versioned JSON record could not be serialised or read back."""


class CronError(DefinitionError):
    """A cron string could not be parsed."""


class RunStatusError(KnollError):
    """A run status change that the run state machine does not allow."""


class AlertDeliveryError(KnollError):
    """A failure alert could not be delivered: its server refused it or was unreachable."""


class ExecutionError(KnollError):
    """Something went wrong while a run executed."""


class MissingStoredValueError(ExecutionError, FileNotFoundError):
    """An input has no stored value to load: what stores it has not run (with this IO manager).
    It is a ``FileNotFoundError`` too, as the file an IO manager looked for is not there."""

    def __init__(self, message: str) -> None:
        ExecutionError.__init__(self, message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UserCodeError(ExecutionError):
    """User code raised. The original exception is kept as ``original`` and ``__cause__``."""

    def __init__(self, message: str, original: BaseException) -> None:
        self.original = original
        super().__init__(message)

    @property
    def user_exception(self) -> BaseException:
        """The exception user code raised (Dagster's name for ``original``)."""
        return self.original


class TypeCheckError(ExecutionError):
    """A value did not match the type annotation of an input or output."""


class RunFailedError(ExecutionError):
    """A run failed. Raised by ``raise_on_error=True`` with the first step failure attached."""


class Failure(Exception):
    """Raise from user code to fail a step with a description and metadata, without a retry."""

    def __init__(
        self,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_retries: bool = True,
    ) -> None:
        self.description = description
        self.metadata = dict(metadata or {})
        self.allow_retries = allow_retries
        super().__init__(description)


class RetryRequested(Exception):
    """Raise from user code to retry the current step up to ``max_retries`` times."""

    def __init__(self, max_retries: int = 1, seconds_to_wait: float = 0) -> None:
        if max_retries < 0:
            raise InvalidInvocationError(
                f"RetryRequested(max_retries={max_retries}): max_retries must be 0 or more."
            )
        self.max_retries = max_retries
        self.seconds_to_wait = seconds_to_wait
        super().__init__(f"retry requested (max_retries={max_retries})")


class StorageError(KnollError):
    """Storage refused a request (a duplicate id, an unknown record, a bad cursor) or failed."""


class RunAlreadyStoredError(StorageError):
    """``add_run`` of a run whose id is stored already: a run id names one run. Callers that
    derive run ids on purpose (``derived_run_id``) catch it to find the run made before."""


class StorageWriteError(StorageError):
    """The database failed a write for a reason that waiting will not fix on its own (its disk
    is full, it is read-only, an I/O error). ``where`` names the database, ``reason`` is what
    the database or the operating system said."""

    def __init__(self, where: str, reason: str, *, detail: str = "") -> None:
        self.where = where
        self.reason = reason
        self.detail = detail
        super().__init__(
            f"could not write to {where}: {reason}" + (f"; {detail}" if detail else "")
        )

    def with_detail(self, detail: str) -> StorageWriteError:
        """The same failure, saying what it did to the run."""
        return StorageWriteError(self.where, self.reason, detail=detail)


class DatabaseVersionError(StorageError):
    """The database's schema revision is older or newer than the one this knoll expects."""


class AccountError(KnollError):
    """A user or API token cannot be created or changed that way (an invalid name, role,
    password or expiry; the last admin removed)."""


class UnknownAccountError(AccountError):
    """No user has that name, or no API token that id."""


class AccountExistsError(AccountError):
    """A user with that name exists already: user names are unique."""


class WorkspaceError(KnollError):
    """A ``workspace.yaml`` (or the ``-m``/``-f`` flags) does not describe valid code locations."""


class CodeServerError(KnollError):
    """A code server could not start, is not answering, or answered a request with an error.

    ``remote_traceback`` holds the traceback formatted in the code server when the error
    happened there (user code that raised during a tick, an import that failed).
    """

    def __init__(self, message: str, remote_traceback: str | None = None) -> None:
        self.remote_traceback = remote_traceback
        super().__init__(message)


class RequestRefusedError(CodeServerError):
    """A code server answered that a request does not fit its definitions (a job or asset
    selection it lacks, config that does not match, a partition it does not hold, user code
    that raised while evaluating a schedule or sensor tick): the request is at fault, not the
    server. ``error_type`` names the class of the error it raised there, such as
    ``InvalidConfigError``."""

    def __init__(self, message: str, error_type: str, remote_traceback: str | None = None) -> None:
        self.error_type = error_type
        super().__init__(message, remote_traceback)
