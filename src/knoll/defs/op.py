"""Ops: units of computation with typed inputs and outputs, and the ``@op`` decorator."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from knoll._utils import (
    RESERVED_NAMES,
    check_name,
    check_node_name,
    check_tags,
    did_you_mean,
    docstring,
    reserved_name_problem,
    source_location,
)
from knoll.defs.composition import DynamicHandle, GraphInputRef, Invocation, InvokedOutput
from knoll.defs.composition import current_composition as _current_composition
from knoll.defs.hook import HookDefinition, check_hooks
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.output import DEFAULT_OUTPUT
from knoll.defs.params import (
    ComputeSignature,
    Param,
    output_annotation,
    read_signature,
    unwrap_annotation,
)
from knoll.defs.policies import RetryPolicy
from knoll.defs.runtime import runtime
from knoll.errors import DefinitionError, InvalidInvocationError

_NO_DEFAULT: Any = inspect.Parameter.empty


class Nothing:
    """The type of an input or output that carries no value, only ordering."""


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


NO_VALUE: Any = _Unset()


@dataclass(frozen=True)
class In:
    """Declares an op input: its type, a default value, description and metadata."""

    dagster_type: Any = _NO_DEFAULT
    description: str | None = None
    default_value: Any = NO_VALUE
    metadata: Mapping[str, Any] | None = None
    asset_key: Any = None  # an AssetKey (or callable) when the input is an asset

    @property
    def has_default(self) -> bool:
        return self.default_value is not NO_VALUE


@dataclass(frozen=True)
class Out:
    """Declares an op output: its type, whether it is required, and the IO manager storing it."""

    dagster_type: Any = _NO_DEFAULT
    description: str | None = None
    is_required: bool = True
    io_manager_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    code_version: str | None = None


@dataclass(frozen=True)
class DynamicOut(Out):
    """Declares a dynamic output: the op yields ``DynamicOutput(value, mapping_key=...)`` any
    number of times, and ``.map(fn)`` runs the downstream ops once per mapping key."""


_DEFAULT_IN = In()
DEFAULT_OUT = Out()
"""``Out()``: shared, since most ops and assets declare nothing about their output."""
_NO_KEYS: frozenset[str] = frozenset()
# Definitions are read-only (their mappings are typed Mapping), so the empty tags and metadata
# most of them have are one shared dict: a code location of 10,000 assets allocates none.
_NO_TAGS: dict[str, str] = {}
_NO_METADATA: dict[str, MetadataValue] = {}


@dataclass(frozen=True)
class InputDef:
    """An input of a node, resolved from ``In`` and the function signature."""

    name: str
    type: Any  # a Python type annotation, inspect.Parameter.empty for untyped
    default_value: Any = NO_VALUE
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)

    @property
    def is_nothing(self) -> bool:
        return self.type is Nothing

    @property
    def has_default(self) -> bool:
        return self.default_value is not NO_VALUE


@dataclass(frozen=True)
class OutputDef:
    """An output of a node, resolved from ``Out`` and the return annotation."""

    name: str
    type: Any
    is_required: bool = True
    io_manager_key: str = "io_manager"
    description: str | None = None
    metadata: Mapping[str, MetadataValue] = field(default_factory=dict)
    code_version: str | None = None
    is_dynamic: bool = False  # declared with DynamicOut

    @property
    def is_nothing(self) -> bool:
        return self.type is Nothing


class NodeDefinition:
    """Base of ops and graphs: something with named inputs and outputs that can be wired."""

    name: str
    input_defs: Mapping[str, InputDef]
    output_defs: Mapping[str, OutputDef]
    tags: Mapping[str, str]

    def describe(self) -> str:
        raise NotImplementedError

    def _compose(
        self,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        alias: str | None,
        tags: Mapping[str, str] | None = None,
    ) -> Any:
        composition = _current_composition()
        assert composition is not None
        name = alias or composition.unique_name(self.name)
        names = list(self.input_defs)
        if len(args) > len(names):
            raise DefinitionError(
                f"{self.describe()} was called with {len(args)} positional inputs inside graph "
                f"{composition.graph_name!r}, but it has {len(names)} "
                f"({', '.join(names) or 'none'})."
            )
        wired: dict[str, Any] = dict(zip(names, args, strict=False))
        for key, value in kwargs.items():
            if key not in self.input_defs:
                raise DefinitionError(
                    f"{self.describe()} has no input {key!r} (called inside graph "
                    f"{composition.graph_name!r}).{did_you_mean(key, names)} "
                    f"Its inputs: {', '.join(names) or 'none'}."
                )
            if key in wired:
                raise DefinitionError(f"input {key!r} of {self.describe()} was given twice.")
            wired[key] = value
        for key, value in wired.items():
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, DynamicHandle):
                    raise DefinitionError(
                        f"input {key!r} of {self.describe()} inside graph "
                        f"{composition.graph_name!r} was given the dynamic output "
                        f"{item.output_name!r} of {item.node_name!r}. Use "
                        f"{item.node_name}_output.map(fn) to run ops once per mapping key, or "
                        ".collect() to pass the list of all its values."
                    )
                if not isinstance(item, (InvokedOutput, GraphInputRef)):
                    raise DefinitionError(
                        f"input {key!r} of {self.describe()} inside graph "
                        f"{composition.graph_name!r} was given the {type(item).__name__} value "
                        f"{item!r}. Inside a graph, inputs must be outputs of other ops or "
                        "inputs of the graph; pass constants through config instead."
                    )
        if name in composition.invocations:
            raise DefinitionError(
                f"two nodes named {name!r} in graph {composition.graph_name!r}: give one an "
                f"alias, for example {self.name}.alias('{self.name}_2')()."
            )
        composition.invocations[name] = Invocation(self, name, wired, dict(tags or {}))
        outputs = [
            DynamicHandle(name, out) if d.is_dynamic else InvokedOutput(name, out)
            for out, d in self.output_defs.items()
        ]
        if not outputs:
            return None
        if len(outputs) == 1:
            return outputs[0]
        return tuple(outputs)

    def alias(self, name: str) -> _AliasedNode:
        """Use this node under another name inside a graph: ``my_op.alias("second")()``."""
        return _AliasedNode(self, check_node_name(name, "node alias"))

    def tag(self, tags: Mapping[str, str]) -> _AliasedNode:
        return _AliasedNode(self, None, check_tags(dict(tags), self.describe()))


@dataclass(frozen=True)
class _AliasedNode:
    node: NodeDefinition
    name: str | None
    tags: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _current_composition() is None:
            raise InvalidInvocationError(
                f"an aliased {self.node.describe()} can only be called inside a @graph or @job."
            )
        return self.node._compose(args, kwargs, self.name, self.tags)

    def alias(self, name: str) -> _AliasedNode:
        """Chain with ``tag``: ``my_op.tag({...}).alias("second")()``."""
        return dataclasses.replace(self, name=check_node_name(name, "node alias"))

    def tag(self, tags: Mapping[str, str]) -> _AliasedNode:
        merged = {**self.tags, **check_tags(dict(tags), self.node.describe())}
        return dataclasses.replace(self, tags=merged)


@dataclass(frozen=True, eq=False)
class OpDefinition(NodeDefinition):
    """An op: a function with typed inputs and outputs, config and required resources."""

    name: str
    compute_fn: Callable[..., Any]
    signature: ComputeSignature
    input_defs: Mapping[str, InputDef]
    output_defs: Mapping[str, OutputDef]
    config_schema: Any = None
    required_resource_keys: frozenset[str] = frozenset()
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    retry_policy: RetryPolicy | None = None
    pool: str | None = None
    code_version: str | None = None
    kind: str = "op"  # "op", "asset" or "asset check": used in messages
    hook_defs: frozenset[HookDefinition] = frozenset()

    def describe(self) -> str:
        return f"{self.kind} {self.name!r}"

    def with_hooks(self, hook_defs: Iterable[HookDefinition]) -> OpDefinition:
        """This op with ``hook_defs`` added: they run after each of its steps."""
        hooks = check_hooks(hook_defs, self.describe())
        return dataclasses.replace(self, hook_defs=self.hook_defs | hooks)

    @property
    def source(self) -> str:
        return source_location(self.compute_fn)

    def replace(self, **changes: Any) -> OpDefinition:
        return dataclasses.replace(self, **changes)

    def with_retry_policy(self, retry_policy: RetryPolicy) -> OpDefinition:
        """A copy of this op that retries failed steps by ``retry_policy``."""
        if not isinstance(retry_policy, RetryPolicy):
            raise DefinitionError(
                f"op {self.name!r}: with_retry_policy() takes a RetryPolicy, got "
                f"{type(retry_policy).__name__} {retry_policy!r}; for example "
                "RetryPolicy(max_retries=3, delay=5)."
            )
        return dataclasses.replace(self, retry_policy=retry_policy)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _current_composition() is not None:
            return self._compose(args, kwargs, None)
        return runtime().invoke(self, args, kwargs)


def resolve_inputs(
    signature: ComputeSignature,
    input_params: Sequence[Param],
    ins: Mapping[str, In] | None,
    owner: str,
    fn: Callable[..., Any],
) -> dict[str, InputDef]:
    if not ins:
        return _inputs_from_params(input_params)
    ins = dict(ins)
    out: dict[str, InputDef] = {}
    for param in input_params:
        name = param.name
        spec = ins.pop(name, None) or _DEFAULT_IN
        annotation = spec.dagster_type if spec.dagster_type is not _NO_DEFAULT else param.annotation
        default = spec.default_value
        if default is NO_VALUE and param.has_default:
            default = param.default
        if default is NO_VALUE and spec is _DEFAULT_IN:
            out[name] = _plain_input_def(name, unwrap_annotation(annotation))
            continue
        out[name] = InputDef(
            name,
            unwrap_annotation(annotation),
            default,
            spec.description,
            _input_metadata(spec, name, owner),
        )
    for name, spec in ins.items():
        if spec.dagster_type is Nothing:
            out[name] = InputDef(name, Nothing, NO_VALUE, spec.description)
            continue
        if signature.accepts_kwargs:
            out[name] = InputDef(
                name,
                unwrap_annotation(spec.dagster_type),
                spec.default_value,
                spec.description,
                _input_metadata(spec, name, owner),
            )
            continue
        only_ordering = (
            "or list the asset in deps=[...] if it is only an ordering dependency."
            if owner.startswith(("asset", "multi-asset"))
            else "or declare it In(Nothing) if it only orders execution."
        )
        raise DefinitionError(
            f"{owner} ({source_location(fn)}) declares input {name!r} in ins=, but its function "
            f"has no parameter {name!r}.{did_you_mean(name, [p.name for p in input_params])} "
            "Add the parameter, "
            f"{only_ordering}"
        )
    return out


def _inputs_from_params(input_params: Sequence[Param]) -> dict[str, InputDef]:
    """The inputs of a function that has no ``ins=``: what ``resolve_inputs`` gives then."""
    out: dict[str, InputDef] = {}
    for name, annotation, has_default, default in input_params:
        if has_default:
            out[name] = InputDef(name, unwrap_annotation(annotation), default, None, _NO_METADATA)
        else:
            out[name] = _plain_input_def(name, unwrap_annotation(annotation))
    return out


# Definitions are immutable, so the many equal ones (every `x: int` input named "x", every
# plain `-> int` output) are one object each: fewer objects for the garbage collector to scan.
_PLAIN_INPUTS: dict[int, dict[str, InputDef]] = {}
_PLAIN_OUTPUTS: dict[int, Mapping[str, OutputDef]] = {}
_MAX_SHARED = 100_000


def _plain_input_def(name: str, annotation: Any) -> InputDef:
    # Keyed by the annotation's identity, which the cached definitions keep alive.
    by_name = _PLAIN_INPUTS.get(id(annotation))
    found = None if by_name is None else by_name.get(name)
    if found is None:
        found = InputDef(name, annotation, NO_VALUE, None, _NO_METADATA)
        if by_name is None:
            if len(_PLAIN_INPUTS) >= _MAX_SHARED:
                return found
            by_name = _PLAIN_INPUTS[id(annotation)] = {}
        if len(by_name) < _MAX_SHARED:
            by_name[name] = found
    return found


def _plain_output_defs(annotation: Any) -> Mapping[str, OutputDef]:
    # The mapping is shared too: an op's output_defs is read-only (a Mapping).
    found = _PLAIN_OUTPUTS.get(id(annotation))
    if found is None:
        found = {DEFAULT_OUTPUT: OutputDef(DEFAULT_OUTPUT, annotation, metadata=_NO_METADATA)}
        if len(_PLAIN_OUTPUTS) < _MAX_SHARED:
            _PLAIN_OUTPUTS[id(annotation)] = found
    return found


def _input_metadata(spec: In, name: str, owner: str) -> dict[str, MetadataValue]:
    # Most inputs have none: skip building the message prefix for them.
    if not spec.metadata:
        return _NO_METADATA
    return normalize_metadata(spec.metadata, f"input {name!r} of {owner}")


def resolve_outputs(
    signature: ComputeSignature, out: Out | Mapping[str, Out] | None, owner: str
) -> Mapping[str, OutputDef]:
    if out is None or isinstance(out, Out):
        spec = out or DEFAULT_OUT
        annotation = (
            spec.dagster_type
            if spec.dagster_type is not _NO_DEFAULT
            else output_annotation(signature.return_annotation, signature.is_generator)
        )
        if spec is DEFAULT_OUT:
            return _plain_output_defs(unwrap_annotation(annotation))
        return {DEFAULT_OUTPUT: _output_def(DEFAULT_OUTPUT, spec, annotation, owner)}
    if not isinstance(out, Mapping):
        raise DefinitionError(
            f"out= of {owner} must be an Out or a dict of Out, got {type(out).__name__}."
        )
    result: dict[str, OutputDef] = {}
    for name, spec in out.items():
        check_node_name(name, "output", owner)
        if not isinstance(spec, Out):
            raise DefinitionError(
                f"output {name!r} of {owner} must be declared with Out(...), "
                f"got {type(spec).__name__}."
            )
        annotation = spec.dagster_type if spec.dagster_type is not _NO_DEFAULT else _NO_DEFAULT
        result[name] = _output_def(name, spec, annotation, owner)
    return result


def _output_metadata(spec: Out, name: str, owner: str) -> dict[str, MetadataValue]:
    if not spec.metadata:
        return _NO_METADATA
    return normalize_metadata(spec.metadata, f"output {name!r} of {owner}")


def _output_def(name: str, spec: Out, annotation: Any, owner: str) -> OutputDef:
    return OutputDef(
        name=name,
        type=unwrap_annotation(annotation),
        is_required=spec.is_required,
        io_manager_key=spec.io_manager_key or "io_manager",
        description=spec.description,
        metadata=_output_metadata(spec, name, owner),
        code_version=spec.code_version,
        is_dynamic=isinstance(spec, DynamicOut),
    )


def build_op(  # noqa: PLR0913 (the keyword arguments of @op, @asset and @asset_check, passed on)
    fn: Callable[..., Any],
    *,
    name: str | None,
    ins: Mapping[str, In] | None,
    out: Out | Mapping[str, Out] | None,
    config_schema: Any,
    required_resource_keys: Collection[str] | None,
    description: str | None,
    tags: Mapping[str, str] | None,
    retry_policy: RetryPolicy | None,
    pool: str | None,
    code_version: str | None,
    owner: str | None = None,
    kind: str = "op",
) -> OpDefinition:
    """An ``OpDefinition`` for ``fn``; ``owner`` names it in errors (an asset, a check...)."""
    # an asset's op name is its key made an identifier, checked with the key
    op_name = (
        name
        if kind == "asset" and name is not None
        else check_node_name(fn.__name__ if name is None else name, "op")
    )
    owner = owner or f"op {op_name!r}"
    signature, input_params = read_signature(fn, owner)
    if signature.config_param is not None and config_schema is not None:
        raise DefinitionError(
            f"{owner} ({source_location(fn)}) has both config_schema= and a Config parameter "
            f"{signature.config_param.name!r}; keep one."
        )
    schema = (
        signature.config_param.annotation if signature.config_param is not None else config_schema
    )
    keys: set[str] | None = None
    if required_resource_keys or signature.resource_params:
        keys = set(required_resource_keys or ())
        keys.update(p.name for p in signature.resource_params)
        for key in keys:
            check_name(key, f"resource key required by {owner}")
    input_defs = resolve_inputs(signature, input_params, ins, owner, fn)
    for input_name in input_defs.keys() & RESERVED_NAMES:
        problem = reserved_name_problem(input_name, "input", owner)
        if problem is not None and input_name != "config":  # Dagster takes an input 'config'
            raise DefinitionError(f"{problem} ({source_location(fn)})")
    return OpDefinition(
        name=op_name,
        compute_fn=fn,
        signature=signature,
        input_defs=input_defs,
        output_defs=resolve_outputs(signature, out, owner),
        config_schema=schema,
        required_resource_keys=frozenset(keys) if keys else _NO_KEYS,
        description=description or docstring(fn),
        tags=check_tags(dict(tags), owner) if tags else _NO_TAGS,
        retry_policy=retry_policy,
        pool=pool,
        code_version=code_version,
        kind=kind,
    )


@overload
def op(fn: Callable[..., Any], /) -> OpDefinition: ...


@overload
def op(
    *,
    name: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: Collection[str] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    pool: str | None = None,
    code_version: str | None = None,
) -> Callable[[Callable[..., Any]], OpDefinition]: ...


def op(  # noqa: PLR0913 (Dagster's keyword arguments)
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    ins: Mapping[str, In] | None = None,
    out: Out | Mapping[str, Out] | None = None,
    config_schema: Any = None,
    required_resource_keys: Collection[str] | None = None,
    description: str | None = None,
    tags: Mapping[str, str] | None = None,
    retry_policy: RetryPolicy | None = None,
    pool: str | None = None,
    code_version: str | None = None,
) -> OpDefinition | Callable[[Callable[..., Any]], OpDefinition]:
    """Declare an op: ``@op`` or ``@op(out={"a": Out(int)}, config_schema={...})``."""

    def decorate(f: Callable[..., Any]) -> OpDefinition:
        return build_op(
            f,
            name=name,
            ins=ins,
            out=out,
            config_schema=config_schema,
            required_resource_keys=required_resource_keys,
            description=description,
            tags=tags,
            retry_policy=retry_policy,
            pool=pool,
            code_version=code_version,
        )

    if fn is not None:
        return decorate(fn)
    return decorate
