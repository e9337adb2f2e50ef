"""Initialising a run's resources: order, config, EnvVars, teardown, errors and snapshots."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from knoll.defs.env_var import EnvVar
from knoll.defs.io_manager import (
    InputContextLike,
    IOManager,
    OutputContextLike,
    io_manager,
)
from knoll.defs.resource import ConfigurableResource, ResourceDependency
from knoll.defs.resource_definition import InitResourceContext, resource
from knoll.errors import (
    CycleError,
    DefinitionError,
    EnvVarNotSetError,
    InvalidConfigError,
    InvalidInvocationError,
    UserCodeError,
)
from knoll.execution.resources import (
    build_resources,
    check_resource_config,
    check_resource_dependencies,
    coerce_resource,
    resource_config_schema,
    resource_dependencies,
    resource_snapshot,
)

SECRET = "s3cr3t-value-that-must-not-leak"


class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def debug(self, msg: str, /) -> None:
        self.lines.append(("debug", msg))

    def info(self, msg: str, /) -> None:
        self.lines.append(("info", msg))

    def warning(self, msg: str, /) -> None:
        self.lines.append(("warning", msg))

    def error(self, msg: str, /) -> None:
        self.lines.append(("error", msg))


EVENTS: list[str] = []


def start(resources: dict[str, object], **kwargs: Any) -> None:
    """Initialise ``resources`` and tear them down again."""
    with build_resources(resources, **kwargs):
        pass


@pytest.fixture(autouse=True)
def _clear_events() -> Iterator[None]:
    EVENTS.clear()
    yield
    EVENTS.clear()


class Tracked(ConfigurableResource):
    name: str

    def setup_for_execution(self, context: InitResourceContext) -> None:
        EVENTS.append(f"setup {self.name}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        EVENTS.append(f"teardown {self.name}")


class Holder(ConfigurableResource):
    name: str
    first: Tracked
    second: Tracked

    def setup_for_execution(self, context: InitResourceContext) -> None:
        EVENTS.append(f"setup {self.name} with {self.first.name}, {self.second.name}")

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        EVENTS.append(f"teardown {self.name}")


class Database(ConfigurableResource):
    host: str = "localhost"
    port: int = 5432
    password: str


class Connection:
    def __init__(self, url: str) -> None:
        self.url = url


class Repository(ConfigurableResource):
    conn: ResourceDependency[Connection]
    table: str = "orders"


# --- order, sharing and teardown ---------------------------------------------------------------


def test_nested_resources_are_set_up_first_once_each_and_torn_down_in_reverse() -> None:
    shared = Tracked(name="shared")
    outer = Holder(name="outer", first=shared, second=shared)
    other = Holder(name="other", first=shared, second=Tracked(name="own"))
    with build_resources({"outer": outer, "other": other}) as resources:
        EVENTS.append("run")
        assert resources.outer.first is resources.other.first
        assert resources.outer.first is not shared  # a fresh copy per run
    assert EVENTS == [
        "setup shared",
        "setup outer with shared, shared",
        "setup own",
        "setup other with shared, own",
        "run",
        "teardown other",
        "teardown own",
        "teardown outer",
        "teardown shared",
    ]


def test_a_nested_resource_that_has_its_own_key_is_the_same_object() -> None:
    inner = Tracked(name="inner")
    holder = Holder(name="holder", first=inner, second=Tracked(name="b"))
    with build_resources(
        {"holder": holder, "inner": inner}, resource_config={"inner": {"name": "renamed"}}
    ) as resources:
        assert resources.holder.first is resources.inner
        assert resources.inner.name == "renamed"
    assert EVENTS.count("setup renamed") == 1


def test_generator_resource_teardown_runs_after_a_failed_run() -> None:
    @resource
    def session(context: InitResourceContext) -> Iterator[str]:
        EVENTS.append("open")
        yield "session"
        EVENTS.append("close")

    with build_resources({"s": session}) as res:
        assert res.s == "session"
        failed = False
        try:
            raise RuntimeError("step failed")
        except RuntimeError:
            failed = True
    assert failed
    assert EVENTS == ["open", "close"]


def test_configurable_resource_teardown_runs_after_a_failed_run() -> None:
    with pytest.raises(ValueError, match="boom"), build_resources({"t": Tracked(name="t")}):
        raise ValueError("boom")
    assert EVENTS == ["setup t", "teardown t"]


def test_yield_for_execution_override() -> None:
    class Pool(ConfigurableResource):
        size: int = 2

        def yield_for_execution(self, context: InitResourceContext) -> Any:
            return _pool(self)

    @contextlib.contextmanager
    def _pool(pool: Pool) -> Iterator[Pool]:
        EVENTS.append(f"open {pool.size}")
        yield pool
        EVENTS.append("close")

    with build_resources({"pool": Pool()}, resource_config={"pool": {"size": 4}}) as res:
        assert res.pool.size == 4
    assert EVENTS == ["open 4", "close"]


def test_private_state_lives_on_the_run_copy_only() -> None:
    class Client(ConfigurableResource):
        url: str
        _session: str | None = pydantic.PrivateAttr(default=None)

        def setup_for_execution(self, context: InitResourceContext) -> None:
            self._session = f"session to {self.url} for {context.run_id}"
            assert self.get_resource_context() is context

        def session(self) -> str | None:
            return self._session

    declared = Client(url="http://api")
    with build_resources({"client": declared}, run_id="run-7") as resources:
        assert resources.client.session() == "session to http://api for run-7"
    assert declared.session() is None


def test_plain_objects_are_used_as_they_are() -> None:
    conn = Connection("sqlite://")
    with build_resources({"conn": conn, "n": 3, "nothing": None}) as resources:
        assert resources.conn is conn
        assert resources.n == 3
        assert resources.nothing is None


def test_resource_dependency_field_holding_a_function_resource() -> None:
    @resource(config_schema={"url": str})
    def connection(context: InitResourceContext) -> Iterator[Connection]:
        EVENTS.append("connect")
        yield Connection(context.resource_config["url"])
        EVENTS.append("disconnect")

    repo = Repository(conn=connection)  # type: ignore[arg-type]  # it stands for a Connection
    with build_resources(
        {"repo": repo, "conn": connection}, resource_config={"conn": {"url": "pg://x"}}
    ) as resources:
        assert isinstance(resources.repo.conn, Connection)
        assert resources.repo.conn is resources.conn
        assert resources.repo.conn.url == "pg://x"
    assert EVENTS == ["connect", "disconnect"]


def test_resource_dependency_field_holding_a_plain_object() -> None:
    conn = Connection("x")
    with build_resources({"repo": Repository(conn=conn)}) as resources:
        assert resources.repo.conn is conn


# --- function-style resources ------------------------------------------------------------------


def test_function_resource_gets_config_dependencies_log_and_run_id() -> None:
    seen: dict[str, Any] = {}
    log = RecordingLog()

    @resource(config_schema={"prefix": str, "limit": int})
    def base(context: InitResourceContext) -> str:
        return str(context.resource_config["prefix"])

    @resource(config_schema={"suffix": str}, required_resource_keys={"base"})
    def derived(context: InitResourceContext) -> str:
        seen["run_id"] = context.run_id
        seen["log"] = context.log
        return str(context.resources.base + context.resource_config["suffix"])

    with pytest.raises(InvalidConfigError) as info:
        start({"base": base, "derived": derived})
    assert str(info.value) == (
        "Invalid config for resources: 3 errors\n"
        "  - at path resources:base:config: missing required field 'prefix' (str). "
        'Add it, for example: prefix: "..."\n'
        "  - at path resources:base:config: missing required field 'limit' (int). "
        "Add it, for example: limit: 0\n"
        "  - at path resources:derived:config: missing required field 'suffix' (str). "
        'Add it, for example: suffix: "..."'
    )

    config = {"base": {"prefix": "a", "limit": 1}, "derived": {"suffix": "z"}}
    with build_resources(
        {"derived": derived, "base": base}, resource_config=config, run_id="r1", log=log
    ) as resources:
        assert resources.derived == "az"
    assert seen == {"run_id": "r1", "log": log}
    assert ("debug", "resource 'base' initialized") in log.lines


def test_function_resource_asking_for_an_undeclared_resource() -> None:
    @resource
    def greedy(context: InitResourceContext) -> object:
        return context.resources.db

    with pytest.raises(UserCodeError) as info:
        start({"greedy": greedy, "db": 1})
    assert str(info.value).startswith(
        "error while initializing resource 'greedy': InvalidInvocationError: resource 'db' is "
        "not available to resource 'greedy'. Available: none. Add it to the "
        "required_resource_keys of the resource."
    )
    assert isinstance(info.value.original, InvalidInvocationError)


def test_missing_required_resource_key_names_both_keys() -> None:
    @resource(required_resource_keys={"dbb"})
    def api(context: InitResourceContext) -> None:
        return None

    with (
        pytest.raises(
            DefinitionError,
            match=(
                r"resource 'api' requires resource 'dbb', which is not provided\. Available: api, "
                r"db\. Did you mean 'db'\?"
            ),
        ),
        build_resources({"api": api, "db": 1}),
    ):
        pass
    with pytest.raises(DefinitionError, match="requires resource 'dbb'"):
        check_resource_dependencies({"api": api, "db": 1})


def test_cycles_are_named() -> None:
    @resource(required_resource_keys={"b"})
    def a(context: InitResourceContext) -> None:
        return None

    @resource(required_resource_keys={"c"})
    def b(context: InitResourceContext) -> None:
        return None

    @resource(required_resource_keys={"a"})
    def c(context: InitResourceContext) -> None:
        return None

    with pytest.raises(CycleError, match=r"in a loop: a -> b -> c -> a\."):
        check_resource_dependencies({"a": a, "b": b, "c": c})

    @resource(required_resource_keys={"me"})
    def me(context: InitResourceContext) -> None:
        return None

    with pytest.raises(CycleError, match=r"me -> me"):
        start({"me": me})


def test_generator_that_does_not_yield() -> None:
    @resource
    def empty(context: InitResourceContext) -> Iterator[int]:
        yield from ()

    with pytest.raises(DefinitionError, match="returned without yielding"):
        start({"empty": empty})


def test_generator_that_yields_twice_is_reported_at_teardown() -> None:
    @resource
    def twice(context: InitResourceContext) -> Iterator[int]:
        yield 1
        yield 2

    log = RecordingLog()
    with build_resources({"twice": twice}, log=log) as resources:
        pass
    assert [e.args[0] for e in resources.teardown_errors] == [
        "error while tearing down resource 'twice': DefinitionError: resource 'twice': its "
        "function 'twice' yielded more than once. A generator resource must yield its value "
        "exactly once."
    ]


def test_io_manager_function_must_return_an_io_manager() -> None:
    @io_manager
    def broken() -> str:
        return "not an io manager"

    with pytest.raises(DefinitionError, match=r"IO manager 'io_manager'.*returned str"):
        start({"io_manager": broken})

    class Memory(IOManager):
        def handle_output(self, context: OutputContextLike, obj: Any) -> None:
            return None

        def load_input(self, context: InputContextLike) -> Any:
            return None

    @io_manager
    def memory() -> Memory:
        return Memory()

    with build_resources({"io_manager": memory}) as resources:
        assert isinstance(resources.io_manager, Memory)


# --- errors from user code ---------------------------------------------------------------------


def test_setup_error_is_wrapped_and_earlier_resources_are_torn_down() -> None:
    class Broken(ConfigurableResource):
        def setup_for_execution(self, context: InitResourceContext) -> None:
            raise ConnectionError("cannot reach db:5432")

    with pytest.raises(UserCodeError) as info:
        start({"a": Tracked(name="a"), "db": Broken()})
    assert str(info.value) == (
        "error while initializing resource 'db': ConnectionError: cannot reach db:5432"
    )
    assert isinstance(info.value.__cause__, ConnectionError)
    assert info.value.original is info.value.__cause__
    assert EVENTS == ["setup a", "teardown a"]


def test_function_resource_error_is_wrapped() -> None:
    @resource
    def flaky(context: InitResourceContext) -> None:
        raise KeyError("token")

    with pytest.raises(UserCodeError, match=r"resource 'flaky': KeyError: 'token'"):
        start({"flaky": flaky})


def test_teardown_error_is_reported_and_does_not_hide_the_run_error() -> None:
    class BadTeardown(ConfigurableResource):
        def teardown_after_execution(self, context: InitResourceContext) -> None:
            raise OSError("disk gone")

    log = RecordingLog()
    with build_resources({"t": Tracked(name="t"), "bad": BadTeardown()}, log=log) as res:
        try:
            raise RuntimeError("the run's own error")
        except RuntimeError as exc:
            run_error = exc
    assert str(run_error) == "the run's own error"
    assert ("error", "error while tearing down resource 'bad': OSError: disk gone") in log.lines
    assert EVENTS == ["setup t", "teardown t"]  # the others are still torn down
    assert isinstance(res.teardown_errors[0].__cause__, OSError)


def test_teardown_error_after_a_successful_run_does_not_raise() -> None:
    @resource
    def leaky(context: InitResourceContext) -> Iterator[int]:
        yield 1
        raise OSError("close failed")

    log = RecordingLog()
    with build_resources({"leaky": leaky}, log=log) as resources:
        assert resources.leaky == 1
    assert len(resources.teardown_errors) == 1
    assert log.lines[-1] == (
        "error",
        "error while tearing down resource 'leaky': OSError: close failed",
    )


# --- config and EnvVars ------------------------------------------------------------------------


def test_env_var_resolved_when_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOLL_TEST_DB_PW", raising=False)
    db = Database(password=EnvVar("KNOLL_TEST_DB_PW"))  # building it needs no variable
    monkeypatch.setenv("KNOLL_TEST_DB_PW", SECRET)
    with build_resources({"db": db}) as resources:
        assert resources.db.password == SECRET
        assert SECRET not in repr(resources.db)


def test_unset_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOLL_TEST_DB_PW", raising=False)
    with pytest.raises(EnvVarNotSetError) as info:
        start({"db": Database(password=EnvVar("KNOLL_TEST_DB_PW"))})
    assert str(info.value) == (
        "Environment variable 'KNOLL_TEST_DB_PW' used by resource 'db', field 'password' is not "
        "set. Set KNOLL_TEST_DB_PW in the environment the run starts in, or give the value "
        "directly."
    )


def test_env_var_of_a_nested_resource_names_where_it_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Service(ConfigurableResource):
        db: Database

    monkeypatch.delenv("KNOLL_TEST_DB_PW", raising=False)
    with pytest.raises(EnvVarNotSetError, match=r"resource 'svc\.db', field 'password'"):
        start({"svc": Service(db=Database(password=EnvVar("KNOLL_TEST_DB_PW")))})


def test_config_errors_are_reported_together_before_any_setup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KNOLL_TEST_DB_PW", SECRET)
    with (
        pytest.raises(InvalidConfigError) as info,
        build_resources(
            {"t": Tracked(name="t"), "db": Database(password=EnvVar("KNOLL_TEST_DB_PW"))},
            resource_config={"db": {"port": "many"}, "t": {"nmae": "x"}, "dbb": {}},
        ),
    ):
        pass
    message = str(info.value)
    assert message.startswith("Invalid config for resources: 3 errors")
    assert "at path resources: unknown resource 'dbb'. Did you mean 'db'?" in message
    assert "at path resources:t:config: unknown field 'nmae'. Did you mean 'name'?" in message
    assert "at path resources:db:config:port: expected int, got str 'many'" in message
    assert SECRET not in message
    assert EVENTS == []


def test_single_resource_config_error_names_it() -> None:
    with pytest.raises(InvalidConfigError, match=r"^Invalid config for resource 'db': 1 error"):
        start({"db": Database(password="pw")}, resource_config={"db": {"port": "x"}})


def test_configure_at_launch_takes_fields_from_run_config() -> None:
    partial = Database.configure_at_launch()
    with pytest.raises(InvalidConfigError, match="missing required field 'password'"):
        start({"db": partial})
    with build_resources(
        {"db": partial}, resource_config={"db": {"password": "pw", "port": 1}}
    ) as resources:
        assert (resources.db.password, resources.db.port) == ("pw", 1)


def test_configure_at_launch_nested_without_a_key() -> None:
    class Service(ConfigurableResource):
        db: Database

    with pytest.raises(DefinitionError, match=r"resource 'svc', field 'db' holds Database"):
        start({"svc": Service(db=Database.configure_at_launch())})


def test_config_for_resources_that_take_none() -> None:
    @resource
    def fixed(context: InitResourceContext) -> int:
        return 1

    with pytest.raises(InvalidConfigError) as info:
        start(
            {"fixed": fixed, "obj": object()},
            resource_config={"fixed": {"a": 1}, "obj": {"b": 2}},
        )
    assert info.value.errors == (
        "at path resources:fixed:config: resource 'fixed' takes no config (its function "
        "'fixed' declares no config_schema). Remove this config or add a config_schema.",
        "at path resources:obj:config: resource 'obj' is a plain Python object (object), which "
        "takes no config. Remove this config.",
    )


def test_function_resource_config_defaults() -> None:
    @resource(config_schema={"retries": Any})
    def anything(context: InitResourceContext) -> object:
        return context.resource_config

    with build_resources(
        {"anything": anything}, resource_config={"anything": {"retries": [1]}}
    ) as resources:
        assert resources.anything == {"retries": [1]}


def test_check_resource_config_does_not_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KNOLL_TEST_DB_PW", raising=False)
    resources = {"db": Database.configure_at_launch(password=EnvVar("KNOLL_TEST_DB_PW"))}
    check_resource_config(resources, {"db": {"port": 1}})  # the unset variable is not read
    with pytest.raises(InvalidConfigError) as caught:
        check_resource_config(resources, {"db": {"port": "x"}})
    assert caught.value.errors == ("at path resources:db:config:port: expected int, got str 'x'",)


# --- only ---------------------------------------------------------------------------------------


def test_only_initialises_the_selection_and_its_dependencies() -> None:
    @resource(required_resource_keys={"t"})
    def needs_t(context: InitResourceContext) -> str:
        return f"uses {context.resources.t.name}"

    resources_map = {"t": Tracked(name="t"), "u": Tracked(name="u"), "needs_t": needs_t}
    with build_resources(resources_map, only={"needs_t"}) as resources:
        assert resources.needs_t == "uses t"
        assert set(resources.keys()) == {"t", "needs_t"}
        with pytest.raises(InvalidInvocationError, match="resource 'u' is not available"):
            resources.get("u")
    assert EVENTS == ["setup t", "teardown t"]


def test_only_with_an_unknown_key() -> None:
    with (
        pytest.raises(
            DefinitionError,
            match=r"resource 'io_manger' is required but not provided.*'io_manager'",
        ),
        build_resources({"io_manager": 1}, only={"io_manger"}),
    ):
        pass


# --- the per-resource helpers -------------------------------------------------------------------


def test_coerce_resource() -> None:
    conn = Connection("x")
    assert coerce_resource("conn", conn) is conn
    with pytest.raises(DefinitionError, match="resource key name 'my-db' is not valid"):
        coerce_resource("my-db", conn)
    with pytest.raises(DefinitionError, match=r"is the class Database, not an instance"):
        coerce_resource("db", Database)


def test_resource_config_schema_and_dependencies() -> None:
    @resource(config_schema={"n": int}, required_resource_keys={"db"})
    def fn_res(context: InitResourceContext) -> None:
        return None

    @resource(required_resource_keys={"creds"})
    def conn(context: InitResourceContext) -> None:
        return None

    assert resource_config_schema(Database(password="x")) is Database
    assert resource_config_schema(fn_res) is fn_res.config_schema
    assert resource_config_schema(Connection("x")) is None
    assert resource_dependencies(fn_res) == ["db"]
    assert resource_dependencies(Repository(conn=conn)) == ["creds"]  # type: ignore[arg-type]
    assert resource_dependencies(Connection("x")) == []


def test_snapshot_of_a_configurable_resource_hides_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KNOLL_TEST_DB_PW", SECRET)

    class Service(ConfigurableResource):
        """Talks to the service."""

        db: Database
        token: pydantic.SecretStr
        timeout: float = 1.5

    db = Database(password=EnvVar("KNOLL_TEST_DB_PW"))
    service = Service(db=db, token=pydantic.SecretStr(SECRET))
    snapshot = resource_snapshot("svc", service, resources={"svc": service, "db": db})
    text = json.dumps(snapshot)
    assert SECRET not in text
    assert snapshot["kind"] == "configurable"
    assert snapshot["type"].endswith("Service")
    assert snapshot["description"] == "Talks to the service."
    assert snapshot["dependencies"] == [
        {"field": "db", "key": "db", "type": f"{Database.__module__}.Database"}
    ]
    by_name = {f["name"]: f for f in snapshot["config_fields"]}
    assert by_name["timeout"]["value"] == 1.5
    assert by_name["token"]["value"] is None
    assert by_name["token"]["rendered"] == "SecretStr('**********')"

    db_snapshot = resource_snapshot("db", db)
    password = next(f for f in db_snapshot["config_fields"] if f["name"] == "password")
    assert password["value"] == {"env_var": "KNOLL_TEST_DB_PW"}
    assert password["rendered"] == "EnvVar('KNOLL_TEST_DB_PW')"
    assert password["required"] is True
    assert SECRET not in json.dumps(db_snapshot)


def test_snapshot_of_function_and_plain_resources() -> None:
    @resource(config_schema={"n": int}, required_resource_keys={"db"})
    def counted(context: InitResourceContext) -> None:
        """Counts things."""

    snapshot = resource_snapshot("counted", counted, resources={"db": Connection("x")})
    assert snapshot["kind"] == "function"
    assert snapshot["description"] == "Counts things."
    assert snapshot["required_resource_keys"] == ["db"]
    assert snapshot["config_schema"]["properties"]["n"]["type"] == "integer"
    assert snapshot["dependencies"] == [
        {"field": None, "key": "db", "type": f"{Connection.__module__}.Connection"}
    ]
    json.dumps(snapshot)

    plain = resource_snapshot("conn", Connection("x"))
    assert plain["kind"] == "object"
    assert plain["type"] == f"{Connection.__module__}.Connection"
    assert plain["config_fields"] == []
