"""``knoll.yaml``: an instance's settings (storage, compute logs, retention, run queue, run
monitoring and heartbeats), read and checked.

The file lives in ``KNOLL_HOME``; relative paths in it are relative to that folder. Any
string setting can come from the environment with ``{env: VAR}``. Errors name the file and
the key path, the way the rest of knoll reports config errors.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knoll._yaml import parse_yaml, read_yaml_file
from knoll.defs.config_schema import (
    Array,
    ConfigPath,
    ConfigType,
    Field,
    Noneable,
    Shape,
    describe_value,
    format_path,
    validate_config,
)
from knoll.errors import InvalidConfigError, InvalidInvocationError
from knoll.instance.heartbeats import DEFAULT_HEARTBEAT_INTERVAL
from knoll.instance.retention import parse_duration

SETTINGS_FILE = "knoll.yaml"
DEFAULT_SQLITE_FILE = "knoll.db"
DEFAULT_LOGS_DIR = "logs"
DEFAULT_OUTPUTS_DIR = "storage"
DEFAULT_POSTGRES_PORT = 5432


# ---- the settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class SqliteStorageSettings:
    """Storage in one SQLite file (the default: ``KNOLL_HOME/knoll.db``)."""

    path: Path

    @property
    def kind(self) -> str:
        return "sqlite"

    def describe(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PostgresStorageSettings:
    """Storage in a PostgreSQL database, by URL (built from its parts if they were given)."""

    url: str
    schema: str | None = None  # keep knoll's tables in this schema (created when missing)
    key_path: str = "storage:postgres:url"  # where the URL came from, for messages

    @property
    def kind(self) -> str:
        return "postgres"

    def describe(self) -> str:
        where = mask_password(self.url)
        return f"{where} (schema {self.schema})" if self.schema else where


@dataclass(frozen=True)
class InMemoryStorageSettings:
    """Storage in this process's memory; everything is gone when it exits."""

    @property
    def kind(self) -> str:
        return "in_memory"

    def describe(self) -> str:
        return "in memory (this process only)"


StorageSettings = SqliteStorageSettings | PostgresStorageSettings | InMemoryStorageSettings


@dataclass(frozen=True)
class ComputeLogSettings:
    base_dir: Path
    capture_fds: bool = True  # also redirect descriptors 1 and 2 (subprocess output)


@dataclass(frozen=True)
class TagConcurrencyLimit:
    """At most ``limit`` in-progress runs with tag ``key`` (equal to ``value`` when given; each
    value counted on its own with ``per_unique_value``)."""

    key: str
    limit: int
    value: str | None = None
    per_unique_value: bool = False

    def applies_to(self, tags: Mapping[str, str]) -> bool:
        found = tags.get(self.key)
        return found is not None and (self.value is None or found == self.value)

    def in_progress(self, counts: Mapping[tuple[str, str], int], tags: Mapping[str, str]) -> int:
        """How many in-progress runs count against this limit for a run with ``tags``, given
        the in-progress runs per ``(tag key, tag value)``."""
        if self.per_unique_value:
            return counts.get((self.key, tags[self.key]), 0)
        if self.value is not None:
            return counts.get((self.key, self.value), 0)
        return sum(n for (key, _), n in counts.items() if key == self.key)


DEFAULT_MAX_CONCURRENT_RUNS = 10
DEFAULT_DEQUEUE_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class RunQueueSettings:
    """``run_queue:`` in knoll.yaml: how many runs may be in progress at once (-1: no limit),
    per-tag limits, and how often `knoll run queue-worker` dequeues."""

    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
    tag_concurrency_limits: tuple[TagConcurrencyLimit, ...] = ()
    dequeue_interval_seconds: float = DEFAULT_DEQUEUE_INTERVAL_SECONDS


DEFAULT_MONITOR_POLL_SECONDS = 5.0
DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 20.0
DEFAULT_START_TIMEOUT_SECONDS = 180.0


@dataclass(frozen=True)
class RunMonitoringSettings:
    """``run_monitoring:`` in knoll.yaml: how often run workers beat
    (``heartbeat_interval_seconds``), how the run monitor finds run workers that died (no
    heartbeat for ``heartbeat_timeout_seconds``), runs that never started and runs that ran
    too long, and how often it may resume a run whose worker died."""

    enabled: bool = True
    poll_interval_seconds: float = DEFAULT_MONITOR_POLL_SECONDS
    heartbeat_timeout_seconds: float = DEFAULT_HEARTBEAT_TIMEOUT_SECONDS
    max_resume_attempts: int = 0
    start_timeout_seconds: float = DEFAULT_START_TIMEOUT_SECONDS
    max_runtime_seconds: float | None = None
    heartbeat_interval_seconds: float = DEFAULT_HEARTBEAT_INTERVAL


DEFAULT_DAEMON_LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class DaemonSettings:
    """``daemon:`` in knoll.yaml: how long a duty's lease lasts without renewal, which is how
    long a second ``knoll daemon run`` waits before it takes over a duty from a daemon that
    died."""

    lease_seconds: float = DEFAULT_DAEMON_LEASE_SECONDS


DEFAULT_MAX_CATCHUP_RUNS = 5
DEFAULT_TICK_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class InstigationSettings:
    """``schedules:`` and ``sensors:`` in knoll.yaml: how often the daemon looks for due
    schedule ticks and sensor evaluations (``interval_seconds`` of each), and how many missed
    ticks of one schedule it still runs after downtime (``schedules:max_catchup_runs``; the
    older ones are recorded as skipped)."""

    schedule_interval_seconds: float = DEFAULT_TICK_INTERVAL_SECONDS
    max_catchup_runs: int = DEFAULT_MAX_CATCHUP_RUNS
    sensor_interval_seconds: float = DEFAULT_TICK_INTERVAL_SECONDS


DEFAULT_BACKFILL_INTERVAL_SECONDS = 5.0


@dataclass(frozen=True)
class BackfillSettings:
    """``backfills:`` in knoll.yaml: the seconds between two passes of the daemon's
    ``backfills`` duty, which submits the runs of backfills."""

    interval_seconds: float = DEFAULT_BACKFILL_INTERVAL_SECONDS


DEFAULT_MAX_RETRIES = 1


@dataclass(frozen=True)
class RunRetrySettings:
    """``run_retries:`` in knoll.yaml: whether the daemon re-executes runs that fail, how many
    times along one root run (a run's ``knoll/max_retries`` tag overrides it), and whether
    runs that failed in a step (an asset or op that raised) are retried too."""

    enabled: bool = False
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_on_asset_or_op_failure: bool = True


DEFAULT_TICKS_KEEP_LAST = 100
DEFAULT_HEARTBEATS_OLDER_THAN = datetime.timedelta(days=1)


@dataclass(frozen=True)
class RetentionDutySettings:
    """The daemon's ``retention`` duty (``retention:`` in knoll.yaml besides ``older_than``):
    every ``interval_seconds`` (None: the daemon does not prune) it prunes runs finished
    before ``older_than``, deletes ticks older than that but the last ``ticks_keep_last`` of
    each schedule and sensor, and daemon heartbeats older than ``heartbeats_older_than``."""

    interval_seconds: float | None = None
    ticks_keep_last: int = DEFAULT_TICKS_KEEP_LAST
    heartbeats_older_than: datetime.timedelta = DEFAULT_HEARTBEATS_OLDER_THAN


DEFAULT_FRESHNESS_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class FreshnessSettings:
    """``freshness:`` in knoll.yaml: whether the daemon evaluates the assets' freshness
    policies, and how often."""

    enabled: bool = False
    interval_seconds: float = DEFAULT_FRESHNESS_INTERVAL_SECONDS


DEFAULT_AUTOMATION_INTERVAL_SECONDS = 30.0


@dataclass(frozen=True)
class AutomationSettings:
    """``automation:`` in knoll.yaml: whether the daemon evaluates automation conditions, and
    the seconds between two evaluations (Dagster's default, 30)."""

    enabled: bool = True
    interval_seconds: float = DEFAULT_AUTOMATION_INTERVAL_SECONDS


@dataclass(frozen=True)
class InstanceSettings:
    """An instance's settings: ``knoll.yaml`` parsed, or the defaults when there is none."""

    storage: StorageSettings
    compute_logs: ComputeLogSettings
    retention: datetime.timedelta | None  # retention.older_than (None: keep everything)
    outputs_dir: Path | None  # where the default IO manager writes (None: a temp folder)
    source: Path | None = None  # the knoll.yaml these came from
    run_queue: RunQueueSettings = field(default_factory=RunQueueSettings)
    run_monitoring: RunMonitoringSettings = field(default_factory=RunMonitoringSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    instigation: InstigationSettings = field(default_factory=InstigationSettings)
    backfills: BackfillSettings = field(default_factory=BackfillSettings)
    run_retries: RunRetrySettings = field(default_factory=RunRetrySettings)
    retention_duty: RetentionDutySettings = field(default_factory=RetentionDutySettings)
    freshness: FreshnessSettings = field(default_factory=FreshnessSettings)
    automation: AutomationSettings = field(default_factory=AutomationSettings)

    @staticmethod
    def defaults(home: Path) -> InstanceSettings:
        """SQLite at ``home/knoll.db``, logs in ``home/logs``, outputs in ``home/storage``."""
        return InstanceSettings(
            storage=SqliteStorageSettings(home / DEFAULT_SQLITE_FILE),
            compute_logs=ComputeLogSettings(home / DEFAULT_LOGS_DIR),
            retention=None,
            outputs_dir=home / DEFAULT_OUTPUTS_DIR,
        )


def mask_password(url: str) -> str:
    """``postgresql://user:***@host/db``: a URL safe to show."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


# ---- config types for knoll.yaml ---------------------------------------------------------


def _env_value(value: Any, path: ConfigPath, errors: list[str]) -> tuple[bool, Any]:
    """Resolve ``{env: VAR}``; ``(False, value)`` when ``value`` is not such a mapping."""
    if not isinstance(value, Mapping):
        return False, value
    keys = list(value)
    if keys != ["env"]:
        errors.append(
            f"{format_path(path)}: expected a value or {{env: VAR_NAME}}, got "
            f"{describe_value(dict(value))}" + (". Did you mean 'env'?" if len(keys) == 1 else "")
        )
        return True, None
    name = value["env"]
    if not isinstance(name, str) or not name:
        errors.append(
            f"{format_path(path)}: {{env: ...}} takes the name of an environment variable, got "
            f"{describe_value(name)}"
        )
        return True, None
    found = os.environ.get(name)
    if found is None:
        errors.append(
            f"{format_path(path)}: environment variable {name!r} is not set. Set {name} in "
            "the environment knoll runs in, or write the value in the file"
        )
        return True, None
    return True, found


def _check_utf8(value: str, env: str | None, path: ConfigPath, errors: list[str]) -> None:
    """Refuse a string holding a byte that is not UTF-8 (an environment variable or a path
    can): knoll records settings and paths as UTF-8 text, which such a byte would break."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        source = f"environment variable {env!r}" if env else "the value"
        char = value[exc.start]
        # os.environ keeps an undecodable byte as a surrogate U+DC80..U+DCFF
        what = (
            f"the byte 0x{ord(char) - 0xDC00:02x}"
            if 0xDC80 <= ord(char) <= 0xDCFF
            else f"the character U+{ord(char):04X}"
        )
        errors.append(
            f"{format_path(path)}: {source} holds {what} at position {exc.start}, which is not "
            "UTF-8. Give a UTF-8 value (rename the file or folder if it is a path)"
        )


class StringSource(ConfigType):
    """A string, written as is or read from the environment with ``{env: VAR}``."""

    @property
    def name(self) -> str:
        return "str"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        raw = value
        from_env, value = _env_value(value, path, errors)
        if not from_env and not isinstance(value, str):
            errors.append(
                f"{format_path(path)}: expected a string or {{env: VAR_NAME}}, got "
                f"{describe_value(value)}"
            )
        elif isinstance(value, str):
            _check_utf8(value, raw["env"] if from_env else None, path, errors)
        return value

    def sample(self) -> str:
        return '"..."'

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "string"}, _ENV_SCHEMA]}

    def _eq_key(self) -> tuple[Any, ...]:
        return ()


class IntSource(ConfigType):
    """An integer, written as is or read from the environment with ``{env: VAR}``."""

    @property
    def name(self) -> str:
        return "int"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        from_env, value = _env_value(value, path, errors)
        if from_env and isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                errors.append(
                    f"{format_path(path)}: expected an integer, the environment variable gives "
                    f"{value!r}"
                )
                return None
        if from_env:
            return value
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(
                f"{format_path(path)}: expected an integer or {{env: VAR_NAME}}, got "
                f"{describe_value(value)}"
            )
        return value

    def sample(self) -> str:
        return "5432"

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "integer"}, _ENV_SCHEMA]}

    def _eq_key(self) -> tuple[Any, ...]:
        return ()


class Duration(ConfigType):
    """A duration like ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``, read as a ``timedelta``."""

    @property
    def name(self) -> str:
        return "duration"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        from_env, value = _env_value(value, path, errors)
        if from_env and value is None:
            return None
        if isinstance(value, str):
            try:
                return parse_duration(value)
            except InvalidInvocationError:
                pass
        errors.append(
            f"{format_path(path)}: expected a duration like '30d', '12h', '90m', '45s' or '2w', "
            f"got {describe_value(value)}"
        )
        return None

    def sample(self) -> str:
        return "30d"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\d+(\.\d+)?[smhdw]$"}

    def _eq_key(self) -> tuple[Any, ...]:
        return ()


_PER_VALUE = "applyLimitPerUniqueValue"


class TagLimitValue(ConfigType):
    """The ``value`` of a tag concurrency limit: a tag value, or
    ``{applyLimitPerUniqueValue: true}`` to limit each value of the key on its own."""

    @property
    def name(self) -> str:
        return "tag value"

    def check(self, value: Any, path: ConfigPath, errors: list[str]) -> Any:
        if isinstance(value, str):
            return value
        if (
            isinstance(value, Mapping)
            and list(value) == [_PER_VALUE]
            and isinstance(value[_PER_VALUE], bool)
        ):
            return dict(value)
        errors.append(
            f"{format_path(path)}: expected a tag value (a string) or "
            f"{{{_PER_VALUE}: true}}, got {describe_value(value)}"
        )
        return None

    def sample(self) -> str:
        return f"{{{_PER_VALUE}: true}}"

    def json_schema(self) -> dict[str, Any]:
        per_value = {
            "type": "object",
            "properties": {_PER_VALUE: {"type": "boolean"}},
            "required": [_PER_VALUE],
            "additionalProperties": False,
        }
        return {"anyOf": [{"type": "string"}, per_value]}

    def _eq_key(self) -> tuple[Any, ...]:
        return ()


_ENV_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"env": {"type": "string"}},
    "required": ["env"],
    "additionalProperties": False,
}

_POSTGRES_PARTS = ("host", "port", "user", "password", "db")

SETTINGS_SCHEMA = Shape(
    {
        "storage": Field(
            Shape(
                {
                    "sqlite": Noneable(
                        Shape({"path": Field(StringSource(), default_value=DEFAULT_SQLITE_FILE)})
                    ),
                    "postgres": Noneable(
                        Shape(
                            {
                                "url": Noneable(StringSource()),
                                "host": Noneable(StringSource()),
                                "port": Noneable(IntSource()),
                                "user": Noneable(StringSource()),
                                "password": Noneable(StringSource()),
                                "db": Noneable(StringSource()),
                                "schema": Noneable(StringSource()),
                            }
                        )
                    ),
                    "in_memory": Noneable(Shape({})),
                }
            ),
            is_required=False,
        ),
        "compute_logs": Field(
            Shape(
                {
                    "base_dir": Field(StringSource(), default_value=DEFAULT_LOGS_DIR),
                    "capture_file_descriptors": Field(bool, default_value=True),
                }
            ),
            is_required=False,
        ),
        "retention": Field(
            Shape(
                {
                    "older_than": Noneable(Duration()),
                    "interval_seconds": Noneable(float),
                    "ticks_keep_last": Field(int, default_value=DEFAULT_TICKS_KEEP_LAST),
                    "heartbeats_older_than": Noneable(Duration()),
                }
            ),
            is_required=False,
        ),
        "outputs": Field(
            Shape({"base_dir": Field(StringSource(), default_value=DEFAULT_OUTPUTS_DIR)}),
            is_required=False,
        ),
        "run_queue": Field(
            Shape(
                {
                    "max_concurrent_runs": Field(
                        IntSource(), default_value=DEFAULT_MAX_CONCURRENT_RUNS
                    ),
                    "tag_concurrency_limits": Field(
                        Array(
                            Shape(
                                {
                                    "key": str,
                                    "value": Noneable(TagLimitValue()),
                                    "limit": int,
                                }
                            )
                        ),
                        default_value=[],
                    ),
                    "dequeue_interval_seconds": Field(
                        float, default_value=DEFAULT_DEQUEUE_INTERVAL_SECONDS
                    ),
                }
            ),
            is_required=False,
        ),
        "run_monitoring": Field(
            Shape(
                {
                    "enabled": Field(bool, default_value=True),
                    "poll_interval_seconds": Field(
                        float, default_value=DEFAULT_MONITOR_POLL_SECONDS
                    ),
                    "heartbeat_timeout_seconds": Field(
                        float, default_value=DEFAULT_HEARTBEAT_TIMEOUT_SECONDS
                    ),
                    "heartbeat_interval_seconds": Field(
                        float, default_value=DEFAULT_HEARTBEAT_INTERVAL
                    ),
                    "max_resume_attempts": Field(int, default_value=0),
                    "start_timeout_seconds": Field(
                        float, default_value=DEFAULT_START_TIMEOUT_SECONDS
                    ),
                    "max_runtime_seconds": Noneable(float),
                }
            ),
            is_required=False,
        ),
        "daemon": Field(
            Shape(
                {
                    "lease_seconds": Field(float, default_value=DEFAULT_DAEMON_LEASE_SECONDS),
                }
            ),
            is_required=False,
        ),
        "schedules": Field(
            Shape(
                {
                    "max_catchup_runs": Field(int, default_value=DEFAULT_MAX_CATCHUP_RUNS),
                    "interval_seconds": Field(float, default_value=DEFAULT_TICK_INTERVAL_SECONDS),
                }
            ),
            is_required=False,
        ),
        "sensors": Field(
            Shape(
                {
                    "interval_seconds": Field(float, default_value=DEFAULT_TICK_INTERVAL_SECONDS),
                }
            ),
            is_required=False,
        ),
        "backfills": Field(
            Shape(
                {
                    "interval_seconds": Field(
                        float, default_value=DEFAULT_BACKFILL_INTERVAL_SECONDS
                    ),
                }
            ),
            is_required=False,
        ),
        "run_retries": Field(
            Shape(
                {
                    "enabled": Field(bool, default_value=False),
                    "max_retries": Field(IntSource(), default_value=DEFAULT_MAX_RETRIES),
                    "retry_on_asset_or_op_failure": Field(bool, default_value=True),
                }
            ),
            is_required=False,
        ),
        "freshness": Field(
            Shape(
                {
                    "enabled": Field(bool, default_value=False),
                    "interval_seconds": Field(
                        float, default_value=DEFAULT_FRESHNESS_INTERVAL_SECONDS
                    ),
                }
            ),
            is_required=False,
        ),
        "automation": Field(
            Shape(
                {
                    "enabled": Field(bool, default_value=True),
                    "interval_seconds": Field(
                        float, default_value=DEFAULT_AUTOMATION_INTERVAL_SECONDS
                    ),
                }
            ),
            is_required=False,
        ),
    },
    description="knoll.yaml: the settings of a knoll instance",
)


# ---- reading -----------------------------------------------------------------------------


def settings_path(home: Path) -> Path:
    return home / SETTINGS_FILE


def load_settings(home: Path) -> InstanceSettings:
    """The settings of the instance in ``home``: its knoll.yaml if there is one, else defaults."""
    path = settings_path(home)
    try:
        document = read_yaml_file(path, _subject(path))
    except FileNotFoundError:
        return InstanceSettings.defaults(home)
    return _settings(document, home, path)


def parse_settings(text: str, home: Path, path: Path) -> InstanceSettings:
    """Parse and check the text of a knoll.yaml that lives in ``home``."""
    return _settings(parse_yaml(text, _subject(path)), home, path)


def _subject(path: Path) -> str:
    return f"instance settings {path}"


def _settings(document: Any, home: Path, path: Path) -> InstanceSettings:
    subject = _subject(path)
    if document is None:
        document = {}
    resolved = validate_config(SETTINGS_SCHEMA, document, subject=subject)
    errors: list[str] = []
    storage = _storage(document.get("storage") or {}, resolved["storage"], home, errors)
    run_queue = _run_queue(resolved["run_queue"], errors)
    run_monitoring = _run_monitoring(
        resolved["run_monitoring"], errors, _INTERVAL in (document.get("run_monitoring") or {})
    )
    lease_seconds = resolved["daemon"]["lease_seconds"]
    _check_seconds(errors, "daemon:lease_seconds", lease_seconds, "30")
    instigation = _instigation(resolved["schedules"], resolved["sensors"], errors)
    backfill_interval = resolved["backfills"]["interval_seconds"]
    _check_seconds(errors, "backfills:interval_seconds", backfill_interval, "5")
    run_retries = _run_retries(resolved["run_retries"], errors)
    retention_duty = _retention_duty(resolved["retention"], errors)
    freshness = resolved["freshness"]
    _check_seconds(errors, "freshness:interval_seconds", freshness["interval_seconds"], "30")
    automation = resolved["automation"]
    _check_seconds(errors, "automation:interval_seconds", automation["interval_seconds"], "30")
    if errors:
        raise InvalidConfigError(subject, errors)
    logs = resolved["compute_logs"]
    return InstanceSettings(
        storage=storage,
        compute_logs=ComputeLogSettings(
            _under(home, logs["base_dir"]), capture_fds=logs["capture_file_descriptors"]
        ),
        retention=resolved["retention"]["older_than"],
        outputs_dir=_under(home, resolved["outputs"]["base_dir"]),
        source=path,
        run_queue=run_queue,
        run_monitoring=run_monitoring,
        daemon=DaemonSettings(lease_seconds=lease_seconds),
        automation=AutomationSettings(automation["enabled"], automation["interval_seconds"]),
        backfills=BackfillSettings(interval_seconds=backfill_interval),
        instigation=instigation,
        run_retries=run_retries,
        retention_duty=retention_duty,
        freshness=FreshnessSettings(freshness["enabled"], float(freshness["interval_seconds"])),
    )


def _run_retries(resolved: Mapping[str, Any], errors: list[str]) -> RunRetrySettings:
    retries = resolved["max_retries"]
    if retries < 0:
        errors.append(
            f"at path run_retries:max_retries: {retries} is negative. Give 0 (never retry) or "
            "more, for example 3"
        )
    return RunRetrySettings(
        enabled=resolved["enabled"],
        max_retries=retries,
        retry_on_asset_or_op_failure=resolved["retry_on_asset_or_op_failure"],
    )


def _retention_duty(resolved: Mapping[str, Any], errors: list[str]) -> RetentionDutySettings:
    interval = resolved.get("interval_seconds")
    if interval is not None and not interval > 0:
        errors.append(
            f"at path retention:interval_seconds: {interval} is not a positive number of "
            "seconds. Give, for example, 3600, or leave it out so that the daemon does not prune"
        )
    elif interval is not None and resolved.get("older_than") is None:
        errors.append(
            f"at path retention:interval_seconds: the daemon would prune every {interval:g}s, "
            "but retention:older_than is not set, so nothing is old enough. Set older_than, "
            "for example '30d', or leave interval_seconds out"
        )
    keep = resolved["ticks_keep_last"]
    if keep < 0:
        errors.append(
            f"at path retention:ticks_keep_last: {keep} is negative. Give 0 or more ticks to "
            f"keep of each schedule and sensor, for example {DEFAULT_TICKS_KEEP_LAST}"
        )
    beats = resolved.get("heartbeats_older_than")
    return RetentionDutySettings(
        interval_seconds=None if interval is None else float(interval),
        ticks_keep_last=keep,
        heartbeats_older_than=DEFAULT_HEARTBEATS_OLDER_THAN if beats is None else beats,
    )


def _instigation(
    schedules: dict[str, Any], sensors: dict[str, Any], errors: list[str]
) -> InstigationSettings:
    for path, value in (
        ("schedules:interval_seconds", schedules["interval_seconds"]),
        ("sensors:interval_seconds", sensors["interval_seconds"]),
    ):
        _check_seconds(errors, path, value, "1 (how often the daemon looks for work)")
    catchup = schedules["max_catchup_runs"]
    if catchup < 1:
        errors.append(
            f"at path schedules:max_catchup_runs: {catchup} is less than 1. Give how many "
            "missed ticks of a schedule to run after downtime, for example 5 (the default)"
        )
    return InstigationSettings(
        schedule_interval_seconds=schedules["interval_seconds"],
        max_catchup_runs=catchup,
        sensor_interval_seconds=sensors["interval_seconds"],
    )


_INTERVAL = "heartbeat_interval_seconds"


def _check_seconds(errors: list[str], path: str, value: float, example: str) -> None:
    """Note an error unless ``value`` at ``path`` of knoll.yaml is a positive number of
    seconds."""
    if not value > 0:
        errors.append(
            f"at path {path}: {value} is not a positive number of seconds. Give, for example, "
            f"{example}"
        )


def _run_monitoring(
    resolved: Mapping[str, Any], errors: list[str], interval_given: bool
) -> RunMonitoringSettings:
    for key in ("poll_interval_seconds", "heartbeat_timeout_seconds", "start_timeout_seconds"):
        _check_seconds(errors, f"run_monitoring:{key}", resolved[key], "30")
    interval, timeout = resolved[_INTERVAL], resolved["heartbeat_timeout_seconds"]
    if not interval > 0:
        errors.append(
            f"at path run_monitoring:{_INTERVAL}: {interval:g} is not a positive number of "
            f"seconds. Give, for example, {DEFAULT_HEARTBEAT_INTERVAL:g}"
        )
    elif timeout > 0 and interval >= timeout:
        which = "" if interval_given else " (the default)"
        errors.append(
            f"at path run_monitoring:{_INTERVAL}: {interval:g}{which} is not below "
            f"run_monitoring:heartbeat_timeout_seconds ({timeout:g}), so the run monitor would "
            "take run workers for dead between two of their heartbeats. Give an interval well "
            f"below the timeout, for example {_suggested_interval(timeout)}, or raise "
            "heartbeat_timeout_seconds"
        )
    attempts = resolved["max_resume_attempts"]
    if attempts < 0:
        errors.append(
            f"at path run_monitoring:max_resume_attempts: {attempts} is negative. Give 0 (never "
            "resume a run whose worker died) or more"
        )
    max_runtime = resolved.get("max_runtime_seconds")
    if max_runtime is not None and not max_runtime > 0:
        errors.append(
            f"at path run_monitoring:max_runtime_seconds: {max_runtime} is not a positive "
            "number of seconds. Give, for example, 3600, or leave it out for no limit"
        )
    return RunMonitoringSettings(
        enabled=resolved["enabled"],
        poll_interval_seconds=float(resolved["poll_interval_seconds"]),
        heartbeat_timeout_seconds=float(resolved["heartbeat_timeout_seconds"]),
        max_resume_attempts=attempts,
        start_timeout_seconds=float(resolved["start_timeout_seconds"]),
        max_runtime_seconds=None if max_runtime is None else float(max_runtime),
        heartbeat_interval_seconds=float(interval),
    )


def _suggested_interval(timeout: float) -> str:
    """A quarter of the heartbeat timeout: a worker may miss three beats before it is dead."""
    return f"{timeout / 4:g}"


def _run_queue(resolved: Mapping[str, Any], errors: list[str]) -> RunQueueSettings:
    max_runs = resolved["max_concurrent_runs"]
    if max_runs < -1:
        errors.append(
            f"at path run_queue:max_concurrent_runs: {max_runs} is not a limit. Give 0 or more "
            "runs, or -1 for no limit"
        )
    interval = resolved["dequeue_interval_seconds"]
    _check_seconds(errors, "run_queue:dequeue_interval_seconds", interval, "5")
    limits: list[TagConcurrencyLimit] = []
    for i, entry in enumerate(resolved["tag_concurrency_limits"]):
        where = f"at path run_queue:tag_concurrency_limits[{i}]"
        if entry["limit"] < 0:
            errors.append(f"{where}:limit: {entry['limit']} is negative. Give 0 or more runs")
        value = entry.get("value")
        per_value = isinstance(value, Mapping) and bool(value[_PER_VALUE])
        limits.append(
            TagConcurrencyLimit(
                key=entry["key"],
                limit=entry["limit"],
                value=value if isinstance(value, str) else None,
                per_unique_value=per_value,
            )
        )
    return RunQueueSettings(
        max_concurrent_runs=max_runs,
        tag_concurrency_limits=tuple(limits),
        dequeue_interval_seconds=interval,
    )


def _under(home: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


def _storage(
    raw: Mapping[str, Any], resolved: Mapping[str, Any], home: Path, errors: list[str]
) -> StorageSettings:
    given = [k for k in ("sqlite", "postgres", "in_memory") if k in raw]
    if len(given) > 1:
        errors.append(
            f"at path storage: {' and '.join(given)} are both set; an instance has one storage. "
            "Keep one of them"
        )
        return InMemoryStorageSettings()
    if not given or given == ["sqlite"]:
        sqlite = resolved.get("sqlite") or {}
        return SqliteStorageSettings(_under(home, sqlite.get("path", DEFAULT_SQLITE_FILE)))
    if given == ["in_memory"]:
        return InMemoryStorageSettings()
    postgres = resolved.get("postgres") or {}
    parts = [k for k in _POSTGRES_PARTS if postgres.get(k) is not None]
    url = postgres.get("url")
    if url is not None:
        if parts:
            errors.append(
                f"at path storage:postgres: url and {', '.join(parts)} are both set. Give the "
                "url alone, or leave it out and give host, port, user, password and db"
            )
        elif not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            errors.append(
                f"at path storage:postgres:url: {mask_password(url)!r} is not a PostgreSQL URL. "
                "Write it like postgresql://user:password@host:5432/db"
            )
        return PostgresStorageSettings(url, postgres.get("schema"))
    missing = [k for k in ("user", "db") if postgres.get(k) is None]
    if missing:
        errors.append(
            f"at path storage:postgres: missing {' and '.join(repr(m) for m in missing)}. Give "
            "url: postgresql://user:password@host:5432/db, or host, port, user, password and db"
        )
        return PostgresStorageSettings("")
    return PostgresStorageSettings(
        postgres_url(
            user=postgres["user"],
            password=postgres.get("password"),
            host=postgres.get("host") or "localhost",
            port=postgres.get("port") or DEFAULT_POSTGRES_PORT,
            db=postgres["db"],
        ),
        postgres.get("schema"),
        key_path="storage:postgres",
    )


def postgres_url(*, user: str, password: str | None, host: str, port: int, db: str) -> str:
    """A PostgreSQL URL from its parts, each quoted as a URL needs."""
    from urllib.parse import quote

    auth = quote(user, safe="")
    if password:
        auth += ":" + quote(password, safe="")
    return f"postgresql://{auth}@{host}:{port}/{quote(db, safe='')}"
