"""``Instance.get`` and knoll.yaml: defaults, every setting, and every error message."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from knoll import asset, materialize
from knoll.errors import ConfigFileError, InvalidConfigError, InvalidInvocationError, StorageError
from knoll.instance import Instance
from knoll.instance.config import (
    InMemoryStorageSettings,
    PostgresStorageSettings,
    SqliteStorageSettings,
    mask_password,
)
from knoll.instance.retention import format_duration, parse_duration

from .conftest import POSTGRES_URL_VAR, postgres_url_or_skip


def write_settings(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "knoll.yaml"
    path.write_text(text)
    return path


@asset
def numbers() -> list[int]:
    return [1, 2, 3]


# ---- without knoll.yaml --------------------------------------------------------------------


def test_without_knoll_yaml_the_instance_uses_sqlite_and_folders_in_its_home(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with Instance.get(home) as instance:
        assert instance.home == home
        assert instance.settings.source is None
        assert instance.settings.storage == SqliteStorageSettings(home / "knoll.db")
        assert instance.compute_logs.base_dir == home / "logs"
        assert instance.outputs_dir == home / "storage"
        assert instance.settings.retention is None
        result = materialize([numbers], instance=instance)
        assert (home / "knoll.db").is_file()
        # the default IO manager writes under the instance's home
        assert (home / "storage" / "numbers").is_file()
        assert instance.get_run(result.run_id).run.is_success


def test_the_home_comes_from_knoll_home_then_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOLL_HOME", str(tmp_path / "from_env"))
    assert Instance.get().home == tmp_path / "from_env"
    monkeypatch.delenv("KNOLL_HOME")
    monkeypatch.chdir(tmp_path)
    assert Instance.get().home == tmp_path / ".knoll"
    assert Instance.get(tmp_path / "given").home == tmp_path / "given"


def test_a_home_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("")
    with pytest.raises(InvalidInvocationError, match=r"KNOLL_HOME .*home is a file, not a folder"):
        Instance.get(tmp_path / "home")


def test_the_storage_is_opened_on_first_use(tmp_path: Path) -> None:
    instance = Instance.get(tmp_path / "home")
    assert not (tmp_path / "home" / "knoll.db").exists()
    instance.get_runs()
    assert (tmp_path / "home" / "knoll.db").exists()
    instance.dispose()


# ---- with knoll.yaml -----------------------------------------------------------------------


def test_knoll_yaml_sets_storage_logs_outputs_and_retention(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = write_settings(
        home,
        "storage:\n"
        "  sqlite:\n"
        "    path: db/runs.sqlite\n"
        "compute_logs:\n"
        f"  base_dir: {tmp_path / 'elsewhere'}\n"
        "  capture_file_descriptors: false\n"
        "outputs:\n"
        "  base_dir: out\n"
        "retention:\n"
        "  older_than: 30d\n",
    )
    with Instance.get(home) as instance:
        settings = instance.settings
        assert settings.source == path
        assert settings.storage == SqliteStorageSettings(home / "db" / "runs.sqlite")
        assert instance.compute_logs.base_dir == tmp_path / "elsewhere"
        assert instance.compute_logs.capture_fds is False
        assert instance.outputs_dir == home / "out"
        assert settings.retention == datetime.timedelta(days=30)
        materialize([numbers], instance=instance)
        assert (home / "db" / "runs.sqlite").is_file()
        assert (home / "out" / "numbers").is_file()
        info = instance.info()
        assert info["retention"] == "prune runs older than 30d"
        assert info["settings"] == str(path)
        assert info["schema revision"].endswith("(up to date)")


def test_an_empty_knoll_yaml_means_the_defaults(tmp_path: Path) -> None:
    write_settings(tmp_path, "")
    instance = Instance.get(tmp_path)
    assert instance.settings.storage == SqliteStorageSettings(tmp_path / "knoll.db")


def test_in_memory_storage(tmp_path: Path) -> None:
    write_settings(tmp_path, "storage:\n  in_memory: {}\n")
    with Instance.get(tmp_path) as instance:
        assert instance.settings.storage == InMemoryStorageSettings()
        result = materialize([numbers], instance=instance)
        assert instance.get_run(result.run_id).run.is_success
        assert instance.info()["schema revision"] == "n/a (in-memory storage)"


def test_strings_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_DB_FILE", "from_env.db")
    monkeypatch.setenv("KNOLL_TEST_RETENTION", "12h")
    write_settings(
        tmp_path,
        "storage:\n  sqlite:\n    path: {env: KNOLL_TEST_DB_FILE}\n"
        "retention:\n  older_than: {env: KNOLL_TEST_RETENTION}\n",
    )
    settings = Instance.get(tmp_path).settings
    assert settings.storage == SqliteStorageSettings(tmp_path / "from_env.db")
    assert settings.retention == datetime.timedelta(hours=12)


def test_postgres_from_its_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PG_PASSWORD", "s3cr/t")
    monkeypatch.setenv("KNOLL_TEST_PG_PORT", "6543")
    write_settings(
        tmp_path,
        "storage:\n  postgres:\n    host: db.internal\n    port: {env: KNOLL_TEST_PG_PORT}\n"
        "    user: knoll\n    password: {env: KNOLL_TEST_PG_PASSWORD}\n    db: runs\n",
    )
    instance = Instance.get(tmp_path)
    storage = instance.settings.storage
    assert isinstance(storage, PostgresStorageSettings)
    assert storage.url == "postgresql://knoll:s3cr%2Ft@db.internal:6543/runs"
    # the password never shows
    assert storage.describe() == "postgresql://knoll:***@db.internal:6543/runs"


def test_postgres_url_and_schema(tmp_path: Path) -> None:
    url = postgres_url_or_skip()
    write_settings(
        tmp_path,
        f"storage:\n  postgres:\n    url: {{env: {POSTGRES_URL_VAR}}}\n"
        "    schema: knoll_cfg_test\n",
    )
    try:
        with Instance.get(tmp_path) as instance:
            result = materialize([numbers], instance=instance)
            assert instance.get_run(result.run_id).run.is_success
            info = instance.info()
            assert info["storage"] == "postgres"
            assert info["location"] == f"{url} (schema knoll_cfg_test)"
    finally:
        from .conftest import drop_schemas

        drop_schemas(url, ["knoll_cfg_test"])


def test_mask_password() -> None:
    assert mask_password("postgresql://u:pw@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert mask_password("postgresql://u@h/d") == "postgresql://u@h/d"


def test_durations() -> None:
    assert parse_duration("30d") == datetime.timedelta(days=30)
    assert parse_duration("12h") == datetime.timedelta(hours=12)
    assert parse_duration("90m") == datetime.timedelta(minutes=90)
    assert parse_duration("2w") == datetime.timedelta(weeks=2)
    assert parse_duration("1.5h") == datetime.timedelta(minutes=90)
    assert format_duration(datetime.timedelta(days=30)) == "30d"
    assert format_duration(datetime.timedelta(minutes=90)) == "90m"
    assert format_duration(datetime.timedelta(weeks=2)) == "2w"
    with pytest.raises(InvalidInvocationError, match=r"duration '30 days' is not a duration"):
        parse_duration("30 days")
    with pytest.raises(InvalidInvocationError, match=r"must be longer than zero"):
        parse_duration("0d")


# ---- errors --------------------------------------------------------------------------------


def settings_error(tmp_path: Path, text: str) -> str:
    path = write_settings(tmp_path, text)
    with pytest.raises(InvalidConfigError) as info:
        Instance.get(tmp_path)
    message = str(info.value)
    assert message.startswith(f"Invalid config for instance settings {path}: ")
    return message


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "storag:\n  sqlite: {}\n")
    assert "at the root: unknown field 'storag'. Did you mean 'storage'?" in message


def test_an_unknown_nested_key_names_its_path(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "storage:\n  sqlite:\n    pth: x.db\n")
    assert "at path storage:sqlite: unknown field 'pth'. Did you mean 'path'?" in message


def test_a_wrong_type_names_its_path(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "compute_logs:\n  base_dir: 3\n")
    assert "at path compute_logs:base_dir: expected a string or {env: VAR_NAME}, got int 3" in (
        message
    )
    message = settings_error(tmp_path, "compute_logs:\n  capture_file_descriptors: maybe\n")
    assert "at path compute_logs:capture_file_descriptors: expected bool, got str 'maybe'" in (
        message
    )


def test_an_unset_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOLL_TEST_UNSET_URL", raising=False)
    message = settings_error(
        tmp_path, "storage:\n  postgres:\n    url: {env: KNOLL_TEST_UNSET_URL}\n"
    )
    assert (
        "at path storage:postgres:url: environment variable 'KNOLL_TEST_UNSET_URL' is not set. "
        "Set KNOLL_TEST_UNSET_URL in the environment knoll runs in, or write the value in the file"
    ) in message


def test_a_misspelled_env_reference(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "storage:\n  sqlite:\n    path: {evn: X}\n")
    assert "at path storage:sqlite:path: expected a value or {env: VAR_NAME}, got dict" in message
    assert "Did you mean 'env'?" in message


def test_an_env_integer_that_is_not_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PORT", "fifty")
    message = settings_error(
        tmp_path,
        "storage:\n  postgres:\n    user: u\n    db: d\n    port: {env: KNOLL_TEST_PORT}\n",
    )
    assert (
        "at path storage:postgres:port: expected an integer, the environment variable gives 'fifty'"
    ) in message


def test_a_bad_duration(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "retention:\n  older_than: 30 days\n")
    assert (
        "at path retention:older_than: expected a duration like '30d', '12h', '90m', '45s' or "
        "'2w', got str '30 days'"
    ) in message


def test_two_storages(tmp_path: Path) -> None:
    message = settings_error(
        tmp_path, "storage:\n  sqlite: {}\n  postgres:\n    url: postgresql://u@h/d\n"
    )
    assert "at path storage: sqlite and postgres are both set; an instance has one storage" in (
        message
    )


def test_postgres_needs_a_url_or_its_parts(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "storage:\n  postgres:\n    host: h\n")
    assert "at path storage:postgres: missing 'user' and 'db'. Give url: postgresql://" in message
    message = settings_error(
        tmp_path, "storage:\n  postgres:\n    url: postgresql://u@h/d\n    host: h\n"
    )
    assert "at path storage:postgres: url and host are both set" in message
    message = settings_error(tmp_path, "storage:\n  postgres:\n    url: mysql://u:pw@h/d\n")
    assert "at path storage:postgres:url: 'mysql://u:***@h/d' is not a PostgreSQL URL" in message


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write_settings(tmp_path, "storage:\n  sqlite: [\n")
    with pytest.raises(ConfigFileError) as info:
        Instance.get(tmp_path)
    assert re.fullmatch(
        rf"instance settings {re.escape(str(path))}: line 3, column 1: not valid YAML: .*\. "
        r"Fix the YAML syntax there\.",
        str(info.value),
    )


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    message = settings_error(tmp_path, "- storage\n")
    assert "at the root: expected a dict like {}, got list ['storage']" in message


def test_an_unreachable_database_names_the_file_and_key(tmp_path: Path) -> None:
    path = write_settings(
        tmp_path, "storage:\n  postgres:\n    url: postgresql://postgres@127.0.0.1:9/nowhere\n"
    )
    instance = Instance.get(tmp_path)
    expected = (
        r"cannot connect to PostgreSQL at 127.0.0.1:9/nowhere: .*Check that the server is "
        r"running .* \(set in " + re.escape(str(path)) + r" at path storage:postgres:url\)"
    )
    with pytest.raises(StorageError, match=expected):
        materialize([numbers], instance=instance)
    # `knoll instance info` still answers, saying what is wrong
    assert instance.info()["schema revision"].startswith("unknown: cannot connect to PostgreSQL")


# ---- schema revisions ----------------------------------------------------------------------


def test_migrate_and_info_on_a_database_at_another_revision(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from knoll.errors import DatabaseVersionError
    from knoll.storage.version import HEAD_REVISION

    with Instance.get(tmp_path) as instance:
        assert instance.info()["schema revision"].startswith("none yet")
        assert instance.migrate() == (None, HEAD_REVISION)
        assert instance.migrate() == (HEAD_REVISION, HEAD_REVISION)
        assert instance.info()["schema revision"] == f"{HEAD_REVISION} (up to date)"
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'knoll.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()
    with Instance.get(tmp_path) as instance:
        assert instance.info()["schema revision"] == (
            f"9999, newer than this knoll (it expects {HEAD_REVISION}): upgrade knoll"
        )
        with pytest.raises(DatabaseVersionError, match="database is at revision 9999"):
            instance.get_runs()
