"""What ``raise_on_error=True`` raises for a step whose user code raised.

Dagster re-raises the user's own exception, so callers write ``except ValueError:``. Knoll
keeps its wrapper (the message names the asset and step; ``except UserCodeError:`` works) and
makes it an instance of the user's exception type as well, so both spellings catch it.
"""

from __future__ import annotations

from knoll.errors import KnollError, UserCodeError

_HYBRIDS: dict[tuple[type[UserCodeError], type[BaseException]], type[UserCodeError]] = {}


def error_for_caller(error: KnollError) -> KnollError:
    """``error``, made an instance of its original exception's type when user code raised."""
    if not isinstance(error, UserCodeError):
        return error
    original = error.original
    if isinstance(error, type(original)):
        return error  # already merged
    kind = _outside_type(original)
    if kind is None:
        return error  # one of ours (a Failure, a type check) with no other type to keep
    hybrid = _hybrid_type(type(error), kind)
    if hybrid is None:
        return error
    merged = hybrid.__new__(hybrid)
    BaseException.__init__(merged, *error.args)
    merged.__dict__.update(error.__dict__)
    merged.__cause__ = error.__cause__
    merged.__traceback__ = error.__traceback__
    return merged


def _outside_type(original: BaseException) -> type[BaseException] | None:
    """The type to merge in: the original's own, or for one of knoll's errors that is also a
    built-in one (a missing stored value is a ``FileNotFoundError``), that built-in type."""
    if not isinstance(original, KnollError):
        return type(original)
    plain = (Exception, BaseException)
    return next(
        (
            t
            for t in type(original).__mro__
            if issubclass(t, BaseException) and not issubclass(t, KnollError) and t not in plain
        ),
        None,
    )


def _hybrid_type(
    wrapper: type[UserCodeError], original: type[BaseException]
) -> type[UserCodeError] | None:
    key = (wrapper, original)
    if key not in _HYBRIDS:
        try:
            _HYBRIDS[key] = type(
                f"{wrapper.__name__}[{original.__name__}]",
                (wrapper, original),
                {"__module__": wrapper.__module__, "__str__": BaseException.__str__},
            )
        except TypeError:  # a C type whose layout cannot be mixed in; keep the wrapper
            return None
    return _HYBRIDS[key]
