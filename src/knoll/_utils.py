"""Small helpers shared by every layer: names, suggestions, source locations."""

from __future__ import annotations

import contextlib
import gc
import inspect
import keyword
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from knoll.errors import DefinitionError

_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
_TAG_KEY_RE = re.compile(r"^([A-Za-z0-9_.-]{1,63}/)?[A-Za-z0-9_.-]{1,63}$")
MAX_TAG_VALUE_LENGTH = 63 * 1024


_VALID_NAMES: set[str] = set()  # names already checked: definitions repeat them a lot


def is_valid_name(name: object) -> bool:
    """Names of assets (key parts), ops, jobs, groups, schedules, sensors and resources."""
    if name in _VALID_NAMES:
        return True
    if isinstance(name, str) and _NAME_RE.match(name):
        if len(_VALID_NAMES) < 1_000_000:
            _VALID_NAMES.add(name)
        return True
    return False


def check_name(name: object, what: str, owner: str | None = None) -> str:
    """Return ``name`` if it is a valid knoll name, else raise a DefinitionError naming it."""
    if not is_valid_name(name):
        of = f" of {owner}" if owner else ""
        raise DefinitionError(
            f"{what} name {name!r}{of} is not valid: use only letters, digits and underscores "
            f"(A-Z, a-z, 0-9, _), for example {suggest_name(str(name))!r}."
        )
    return name  # type: ignore[return-value]


# Names Dagster refuses for ops, graphs, jobs, inputs, outputs, hooks, schedules, sensors and
# mapping keys: Python keywords and words its generated code and config used for itself.
RESERVED_NAMES: frozenset[str] = frozenset(
    (
        "context",
        "conf",
        "config",
        "meta",
        "arg_dict",
        "dict",
        "input_arg_dict",
        "output_arg_dict",
        "int",
        "str",
        "float",
        "bool",
        "input",
        "output",
        "type",
        *keyword.kwlist,
    )
)


def reserved_name_problem(name: str, what: str, owner: str | None = None) -> str | None:
    """The error text when ``name`` (of a ``what``) is a reserved name, else None."""
    if name not in RESERVED_NAMES:
        return None
    of = f" of {owner}" if owner else ""
    kind = "a Python keyword" if keyword.iskeyword(name) else "a reserved word"
    return (
        f"{what} name {name!r}{of} is not valid: it is {kind}, which Dagster and knoll do not "
        f"take as a name (reserved: Python keywords and {', '.join(_RESERVED_WORDS)}). Rename "
        f"it, for example {name + '_' + _suggest_suffix(what)!r}."
    )


_RESERVED_WORDS = sorted(RESERVED_NAMES - set(keyword.kwlist))


_SUFFIXES = ("output", "input", "op", "graph", "job", "hook", "schedule", "sensor", "asset")


def _suggest_suffix(what: str) -> str:
    words = re.split(r"[^a-z]+", what.lower())
    word = next((w for w in words if w in _SUFFIXES), "name")
    return "value" if word == "output" else word


def check_node_name(
    name: object, what: str, owner: str | None = None, *, allow: Sequence[str] = ()
) -> str:
    """``check_name`` and Dagster's reserved names, for the names Dagster checks that way:
    ops, graphs, jobs, inputs (``allow=["config"]``), outputs, hooks, schedules and sensors."""
    checked = check_name(name, what, owner)
    problem = None if checked in allow else reserved_name_problem(checked, what, owner)
    if problem is not None:
        raise DefinitionError(problem)
    return checked


_ASSET_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


def check_asset_name(name: object, decorator: str) -> str:
    """An asset's ``name=``: letters, digits, ``_``, ``-`` and ``.``, as Dagster takes.

    Its op is named by the key made a Python identifier (``daily-orders`` -> ``daily_orders``).
    """
    if not isinstance(name, str) or not _ASSET_NAME_RE.match(name) or name in {".", ".."}:
        raise DefinitionError(
            f"asset name {name!r} of {decorator} is not valid: use only letters, digits, '_', "
            f"'-' and '.' (and not '.' or '..' alone), for example {suggest_name(str(name))!r}; "
            "for a key with several parts use key=[...] or key_prefix=."
        )
    return name


_GROUP_RE = re.compile(r"^[A-Za-z0-9_]+(/[A-Za-z0-9_]+)*$")


def check_group_name(name: object, owner: str) -> str:
    """A group name: names joined by ``/`` for a hierarchy (``marketing/emails``), as Dagster."""
    if not isinstance(name, str) or not _GROUP_RE.match(name):
        raise DefinitionError(
            f"group name {name!r} of {owner} is not valid: use letters, digits and underscores "
            "(A-Z, a-z, 0-9, _), optionally in segments joined by '/' (for example "
            f"'marketing/emails'), such as {suggest_name(str(name))!r}; or leave group_name unset "
            "for the default group."
        )
    return name


def is_valid_key_part(part: object) -> bool:
    """A part of an asset key: any non-empty string without '/' other than '.' and '..'.

    Dagster takes any string; knoll keeps '/' out because keys are shown and parsed as
    ``a/b/c``, and '.'/'..' because IO managers store keys as paths.
    """
    return isinstance(part, str) and part not in ("", ".", "..") and "/" not in part


def suggest_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
    return cleaned or "my_name"


_ASSET_TAG_VALUE_RE = re.compile(r"^[A-Za-z0-9_.-]{0,63}$")


def check_asset_tags(tags: object, owner: str) -> dict[str, str]:
    """An asset's tags: run-tag rules for keys, and Dagster's stricter rule for values."""
    out = check_tags(tags, owner)
    for key, value in out.items():
        if not _ASSET_TAG_VALUE_RE.match(value):
            raise DefinitionError(
                f"tag {key!r} of {owner} has the value {value!r}, which an asset tag cannot "
                "have: asset tag values use only letters, digits, '.', '-' and '_', at most 63 "
                f"characters (for example {suggest_name(value)[:63]!r}). Put longer text in "
                "metadata= instead."
            )
    return out


def check_tags(tags: object, owner: str) -> dict[str, str]:
    """Validate a tags mapping: string keys in label form, string values."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise DefinitionError(
            f"tags of {owner} must be a dict of strings, got {type(tags).__name__}."
        )
    out: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG_KEY_RE.match(key):
            raise DefinitionError(
                f"tag key {key!r} of {owner} is not valid: use letters, digits, '.', '-' and "
                f"'_' (at most 63), optionally behind a 'prefix/'."
            )
        if not isinstance(value, str):
            raise DefinitionError(
                f"tag {key!r} of {owner} has the {type(value).__name__} value {value!r}: "
                f"tag values must be strings, for example {str(value)!r}."
            )
        if len(value) > MAX_TAG_VALUE_LENGTH:
            raise DefinitionError(f"tag {key!r} of {owner} is longer than {MAX_TAG_VALUE_LENGTH}.")
        out[key] = value
    return out


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ' Did you mean ...?' suffix with the closest candidates, or an empty string."""
    import difflib  # only needed on the error path; kept off `import knoll`

    return suggest(difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6))


def suggest(matches: Sequence[str]) -> str:
    """A ' Did you mean ...?' suffix offering ``matches``, or an empty string if there are none."""
    if not matches:
        return ""
    if len(matches) == 1:
        return f" Did you mean {matches[0]!r}?"
    return " Did you mean " + ", ".join(repr(m) for m in matches[:-1]) + f" or {matches[-1]!r}?"


def source_location(fn: Callable[..., Any]) -> str:
    """``path/to/file.py:LINE`` for a function, for messages that point at a definition."""
    try:
        code = fn.__code__
    except AttributeError:
        try:
            path = inspect.getsourcefile(fn) or "<unknown>"
        except TypeError:
            return "<unknown>"
        return path
    return f"{code.co_filename}:{code.co_firstlineno}"


def docstring(fn: Callable[..., Any]) -> str | None:
    """A function's cleaned docstring (``inspect.getdoc`` without its slow search of classes)."""
    doc = getattr(fn, "__doc__", None)
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cyclic garbage collector while building many small acyclic objects.

    With a user's whole code location in memory, the allocations of building definitions or
    a snapshot trigger full collections that cost more than the work itself; what is built
    holds no cycles, so nothing is lost by collecting later. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
