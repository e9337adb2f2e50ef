"""Declaring resources: ConfigurableResource, EnvVar, @resource and the init context."""

from __future__ import annotations

import pickle
from typing import Any

import pydantic
import pytest

from knoll.defs.env_var import EnvVar, IntEnvVar
from knoll.defs.resource import (
    ConfigurableResource,
    ResourceDependency,
    configure_for_run,
    is_resource_field,
)
from knoll.defs.resource_definition import (
    InitResourceContext,
    ResourceDefinition,
    Resources,
    build_init_resource_context,
    resource,
)
from knoll.errors import (
    DefinitionError,
    EnvVarNotSetError,
    InvalidConfigError,
    InvalidInvocationError,
)

PATH = ("resources", "db", "config")


class Database(ConfigurableResource):
    """A database connection."""

    host: str = "localhost"
    port: int = 5432
    password: str


class Client:
    def __init__(self, token: str) -> None:
        self.token = token


class Warehouse(ConfigurableResource):
    db: Database
    client: ResourceDependency[Client]
    schema_name: str = "public"


# --- EnvVar ---------------------------------------------------------------------------------


def test_env_var_is_a_str_holding_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PW", "hunter2")
    var = EnvVar("KNOLL_TEST_PW")
    assert isinstance(var, str)
    assert var == "KNOLL_TEST_PW"
    assert var.env_var_name == "KNOLL_TEST_PW"
    assert repr(var) == "EnvVar('KNOLL_TEST_PW')"
    assert var.get_value() == "hunter2"


def test_env_var_get_value_default_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOLL_TEST_UNSET", raising=False)
    assert EnvVar("KNOLL_TEST_UNSET").get_value() is None
    assert EnvVar("KNOLL_TEST_UNSET").get_value(default="x") == "x"


def test_env_var_int(monkeypatch: pytest.MonkeyPatch) -> None:
    var = EnvVar.int("KNOLL_TEST_PORT")
    assert isinstance(var, IntEnvVar)
    assert isinstance(var, int)
    assert repr(var) == "EnvVar.int('KNOLL_TEST_PORT')"
    assert var.get_value(default=7) == 7
    monkeypatch.setenv("KNOLL_TEST_PORT", " 6543 ")
    assert var.get_value() == 6543
    assert pickle.loads(pickle.dumps(var)).env_var_name == "KNOLL_TEST_PORT"


def test_env_var_int_with_text_value_hides_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PORT", "topsecret")
    with pytest.raises(InvalidConfigError, match="must hold an integer") as info:
        EnvVar.int("KNOLL_TEST_PORT").get_value()
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize("bad", ["", "A=B", 3])
def test_env_var_rejects_bad_names(bad: Any) -> None:
    with pytest.raises(DefinitionError, match=r"give the name of an environment variable"):
        EnvVar(bad)
    with pytest.raises(DefinitionError, match=r"EnvVar\.int\("):
        EnvVar.int(bad)


# --- ConfigurableResource -------------------------------------------------------------------


def test_configurable_resource_is_frozen_and_forbids_unknown_fields() -> None:
    db = Database(password="pw")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        db.host = "other"
    with pytest.raises(pydantic.ValidationError, match="hots"):
        Database(password="pw", hots="x")  # type: ignore[call-arg]


def test_env_var_field_keeps_marker_and_repr_hides_nothing_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KNOLL_TEST_PW", "hunter2")
    db = Database(password=EnvVar("KNOLL_TEST_PW"))
    assert db.password == "KNOLL_TEST_PW"  # the name until a run resolves it
    assert repr(db) == ("Database(host='localhost', port=5432, password=EnvVar('KNOLL_TEST_PW'))")
    assert "hunter2" not in repr(db)


def test_env_var_int_for_int_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PORT", "6543")
    db = Database(password="pw", port=EnvVar.int("KNOLL_TEST_PORT"))
    assert "port=EnvVar.int('KNOLL_TEST_PORT')" in repr(db)
    fresh, errors = configure_for_run(db, None, label="db", config_path=PATH)
    assert errors == []
    assert fresh is not None
    assert fresh.port == 6543


def test_plain_env_var_on_int_field_is_read_as_int(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PORT", "6000")
    db = Database(password="pw", port=EnvVar("KNOLL_TEST_PORT"))  # type: ignore[arg-type]
    fresh, _ = configure_for_run(db, None, label="db", config_path=PATH)
    assert fresh is not None
    assert fresh.port == 6000


def test_resolved_resource_repr_still_hides_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PW", "hunter2")
    fresh, errors = configure_for_run(
        Database(password=EnvVar("KNOLL_TEST_PW")), None, label="db", config_path=PATH
    )
    assert errors == []
    assert fresh is not None
    assert fresh.password == "hunter2"
    assert "hunter2" not in repr(fresh)
    assert "hunter2" not in str(fresh)
    assert "EnvVar('KNOLL_TEST_PW')" in repr(fresh)


def test_unset_env_var_names_variable_resource_and_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KNOLL_TEST_PW", raising=False)
    db = Database(password=EnvVar("KNOLL_TEST_PW"))
    with pytest.raises(
        EnvVarNotSetError, match=r"'KNOLL_TEST_PW' used by resource 'db', field 'password'"
    ):
        configure_for_run(db, None, label="db", config_path=PATH)


def test_configure_for_run_makes_a_fresh_copy() -> None:
    db = Database(password="pw")
    fresh, _ = configure_for_run(db, None, label="db", config_path=PATH)
    assert fresh == db
    assert fresh is not db


def test_run_config_overrides_fields_and_is_validated() -> None:
    db = Database(password="pw")
    fresh, errors = configure_for_run(db, {"port": 1}, label="db", config_path=PATH)
    assert errors == []
    assert fresh is not None
    assert (fresh.port, fresh.password) == (1, "pw")
    _, errors = configure_for_run(db, {"port": "many", "hots": "x"}, label="db", config_path=PATH)
    assert any(e.startswith("at path resources:db:config:port: expected int") for e in errors)
    assert any("unknown field 'hots'. Did you mean 'host'?" in e for e in errors)


def test_run_config_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOLL_TEST_PW", "from-env")
    db = Database(password="pw")
    fresh, errors = configure_for_run(
        db, {"password": {"env": "KNOLL_TEST_PW"}}, label="db", config_path=PATH
    )
    assert errors == []
    assert fresh is not None
    assert fresh.password == "from-env"
    assert "from-env" not in repr(fresh)


def test_run_config_cannot_set_a_resource_field() -> None:
    wh = Warehouse(db=Database(password="pw"), client=Client("t"))
    _, errors = configure_for_run(
        wh, {"db": {"host": "x"}}, label="wh", config_path=("resources", "wh", "config")
    )
    assert errors == [
        "at path resources:wh:config:db: field 'db' of Warehouse holds a resource, which run "
        "config cannot set. Configure that resource under its own key instead"
    ]


def test_field_validator_sees_the_real_value_at_run_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Api(ConfigurableResource):
        token: str

        @pydantic.field_validator("token")
        @classmethod
        def _long_enough(cls, value: str) -> str:
            if len(value) < 20:
                raise ValueError("token is too short")
            return value

    api = Api(token=EnvVar("KNOLL_TEST_TOKEN"))  # the name is short, but is not the value
    monkeypatch.setenv("KNOLL_TEST_TOKEN", "short-secret")
    _, errors = configure_for_run(api, None, label="api", config_path=("resources", "api"))
    assert errors == [
        "at path resources:api:token: the value of EnvVar('KNOLL_TEST_TOKEN') is not valid: "
        "Value error, token is too short (value not shown)"
    ]
    monkeypatch.setenv("KNOLL_TEST_TOKEN", "x" * 30)
    fresh, errors = configure_for_run(api, None, label="api", config_path=("resources", "api"))
    assert errors == []
    assert fresh is not None
    assert fresh.token == "x" * 30


def test_configure_at_launch() -> None:
    partial = Database.configure_at_launch(host="db.internal")
    assert partial.is_configured_at_launch
    assert repr(partial) == "Database.configure_at_launch(host='db.internal', port=5432)"
    _, errors = configure_for_run(partial, None, label="db", config_path=PATH)
    assert errors == [
        "at path resources:db:config: missing required field 'password' (str). Add it, for "
        'example: password: "..."'
    ]
    fresh, errors = configure_for_run(partial, {"password": "pw"}, label="db", config_path=PATH)
    assert errors == []
    assert fresh is not None
    assert (fresh.host, fresh.password) == ("db.internal", "pw")
    assert not fresh.is_configured_at_launch


def test_configure_at_launch_unknown_field() -> None:
    with pytest.raises(
        DefinitionError, match=r"configure_at_launch\(\) got unknown field 'hots'.*'host'"
    ):
        Database.configure_at_launch(hots="x")


def test_resource_fields_are_recognised() -> None:
    assert is_resource_field(Warehouse, "db")
    assert is_resource_field(Warehouse, "client")
    assert not is_resource_field(Warehouse, "schema_name")


def test_resource_dependency_holds_any_object() -> None:
    client = Client("t")
    wh = Warehouse(db=Database(password="pw"), client=client)
    assert wh.client is client


def test_get_resource_context_outside_a_run() -> None:
    with pytest.raises(InvalidInvocationError, match=r"Database.get_resource_context\(\)"):
        Database(password="pw").get_resource_context()


def test_default_yield_for_execution_calls_the_hooks() -> None:
    calls: list[str] = []

    class Tracked(ConfigurableResource):
        name: str

        def setup_for_execution(self, context: InitResourceContext) -> None:
            calls.append(f"setup {self.name}")

        def teardown_after_execution(self, context: InitResourceContext) -> None:
            calls.append(f"teardown {self.name}")

    tracked = Tracked(name="a")
    with tracked.yield_for_execution(build_init_resource_context()) as value:
        assert value is tracked
        calls.append("use")
    assert calls == ["setup a", "use", "teardown a"]


def test_private_state_can_be_set_during_setup() -> None:
    class Counter(ConfigurableResource):
        start: int = 0
        _count: int = pydantic.PrivateAttr(default=0)

        def setup_for_execution(self, context: InitResourceContext) -> None:
            self._count = self.start

        def bump(self) -> int:
            self._count += 1
            return self._count

    counter = Counter(start=10)
    counter.setup_for_execution(build_init_resource_context())
    assert counter.bump() == 11


# --- @resource and ResourceDefinition -----------------------------------------------------


def test_resource_decorator_bare_and_with_arguments() -> None:
    @resource
    def plain(context: InitResourceContext) -> str:
        """A plain resource."""
        return "value"

    @resource(config_schema={"n": int}, required_resource_keys={"db"}, version="1")
    def configured(context: InitResourceContext) -> int:
        return int(context.resource_config["n"])

    assert isinstance(plain, ResourceDefinition)
    assert plain.description == "A plain resource."
    assert plain.config_schema is None
    assert plain.required_resource_keys == frozenset()
    assert configured.required_resource_keys == frozenset({"db"})
    assert configured.config_schema is not None
    assert configured.version == "1"
    assert repr(configured) == "ResourceDefinition('configured')"


def test_resource_function_without_context() -> None:
    @resource
    def constant() -> int:
        return 3

    assert not constant.takes_context
    assert constant() == 3


def test_direct_invocation_validates_config() -> None:
    @resource(config_schema={"n": int})
    def doubled(context: InitResourceContext) -> int:
        return int(context.resource_config["n"]) * 2

    assert doubled(build_init_resource_context(config={"n": 4})) == 8
    with pytest.raises(InvalidConfigError, match=r"resource 'doubled'"):
        doubled(build_init_resource_context(config={"n": "four"}))


def test_direct_invocation_of_generator_resource_is_refused() -> None:
    @resource
    def session() -> Any:
        yield "s"

    with pytest.raises(InvalidInvocationError, match="generator function"):
        session()


def test_hardcoded_and_none_resources() -> None:
    marker = object()
    assert ResourceDefinition.hardcoded_resource(marker)() is marker
    assert ResourceDefinition.none_resource()() is None


def test_required_resource_keys_must_be_a_collection_of_names() -> None:
    with pytest.raises(DefinitionError, match=r"write required_resource_keys=\{'db'\}"):

        @resource(required_resource_keys="db")
        def one(context: InitResourceContext) -> None:
            return None

    with pytest.raises(DefinitionError, match="resource key required by"):

        @resource(required_resource_keys={"not valid"})
        def two(context: InitResourceContext) -> None:
            return None


def test_resource_function_shape_is_checked() -> None:
    with pytest.raises(DefinitionError, match="takes 2 required parameters"):

        @resource
        def too_many(a: object, b: object) -> None:
            return None

    with pytest.raises(DefinitionError, match="is async"):

        @resource
        async def not_sync(context: InitResourceContext) -> None:
            return None

    with pytest.raises(DefinitionError, match="must be a function"):
        ResourceDefinition("not callable")  # type: ignore[arg-type]


def test_bad_config_schema_names_the_resource() -> None:
    with pytest.raises(DefinitionError, match="resource function 'broken'"):

        @resource(config_schema={"n": object()})
        def broken(context: InitResourceContext) -> None:
            return None


# --- InitResourceContext and Resources -----------------------------------------------------


def test_build_init_resource_context() -> None:
    context = build_init_resource_context(config={"a": 1}, resources={"db": "conn"}, run_id="r1")
    assert context.resource_config == {"a": 1}
    assert context.resources.db == "conn"
    assert context.run_id == "r1"
    context.log.info("logging works")


def test_build_init_resource_context_refuses_definitions() -> None:
    @resource
    def conn() -> str:
        return "c"

    with pytest.raises(InvalidInvocationError, match="pass the value it makes instead"):
        build_init_resource_context(resources={"conn": conn})


def test_resources_access_and_errors() -> None:
    resources = Resources({"db": 1, "io_manager": 2}, "op 'x'")
    assert resources.db == 1
    assert resources["io_manager"] == 2
    assert resources.get("db") == 1
    assert "db" in resources
    assert "dbb" not in resources
    assert list(resources) == ["db", "io_manager"]
    assert resources.keys() == ("db", "io_manager")
    assert len(resources) == 2
    assert resources.as_dict() == {"db": 1, "io_manager": 2}
    with pytest.raises(
        InvalidInvocationError,
        match=(
            r"^resource 'dbb' is not available to op 'x'\. Available: db, io_manager\. "
            r"Did you mean 'db'\? Add it to required_resource_keys or as a parameter\.$"
        ),
    ):
        resources.dbb  # noqa: B018
    with pytest.raises(AttributeError):
        resources.__deepcopy__  # noqa: B018


def test_resources_for_owner_view() -> None:
    view = Resources({"db": 1, "api": 2}).for_owner({"db", "missing"}, "asset 'orders'")
    assert view.keys() == ("db",)
    with pytest.raises(InvalidInvocationError, match="not available to asset 'orders'"):
        view.get("api")
