"""The one YAML reader of knoll.yaml, workspace.yaml and run config.

It reads UTF-8 only, refuses a key given twice in one mapping (plain YAML keeps the last one
silently) and reports every problem as one line naming the file, the place and the fix.
PyYAML is imported on first use, so that ``import knoll`` stays light.
"""

from __future__ import annotations

import os
from typing import Any

from knoll.errors import ConfigFileError

_LOADER: type[Any] | None = None
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_yaml_file(path: str | os.PathLike[str], subject: str) -> Any:
    """The YAML document in the file at ``path`` (``None`` when it is empty).

    ``subject`` names the file in messages (``"workspace file 'w.yaml'"``). A missing file
    raises ``FileNotFoundError`` for the caller to report; any other problem raises
    ``ConfigFileError``.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigFileError(
            subject, f"cannot read the file: {exc.strerror or exc}. Check its permissions"
        ) from None
    return parse_yaml(data, subject)


def parse_yaml(source: str | bytes, subject: str) -> Any:
    """The YAML document in ``source``; bytes must be UTF-8."""
    text = decode_utf8(source, subject) if isinstance(source, bytes) else source
    import yaml

    try:
        return yaml.load(text, Loader=_unique_key_loader())
    except _DuplicateKey as duplicate:
        raise ConfigFileError(subject, duplicate.describe()) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = error.problem or error.context or "a syntax error"
        raise ConfigFileError(
            subject, f"{where}not valid YAML: {problem}. Fix the YAML syntax there."
        ) from None
    except yaml.YAMLError as error:
        raise ConfigFileError(
            subject, f"not valid YAML: {' '.join(str(error).split())}. Fix the file."
        ) from None


def decode_utf8(data: bytes, subject: str) -> str:
    """``data`` decoded as UTF-8, or a ``ConfigFileError`` giving the first undecodable byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigFileError(
            subject,
            f"the file is not UTF-8: byte 0x{data[exc.start]:02x} at byte position {exc.start} "
            f"(line {line}, column {column}) cannot be decoded. Save the file as UTF-8.",
        ) from None


class _DuplicateKey(Exception):
    def __init__(self, key: object, first_line: int, mark: Any) -> None:
        self.key = key
        self.first_line = first_line
        self.mark = mark

    def describe(self) -> str:
        line, column = self.mark.line + 1, self.mark.column + 1
        return (
            f"line {line}, column {column}: the key {self.key!r} is given twice in one "
            f"mapping, at line {self.first_line} and at line {line}. Keep one of them."
        )


def _unique_key_loader() -> type[Any]:
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        """A safe loader that refuses a key given twice in one mapping."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            if isinstance(node, yaml.MappingNode):
                lines: dict[Any, int] = {}
                for key_node, _ in node.value:
                    if key_node.tag == _MERGE_TAG:
                        continue  # keys merged in with `<<` may be overridden: that is YAML
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        first = lines.get(key)
                    except TypeError:  # an unhashable key: PyYAML reports it below
                        continue
                    if first is not None:
                        raise _DuplicateKey(key, first, key_node.start_mark)
                    lines[key] = key_node.start_mark.line + 1
            return super().construct_mapping(node, deep=deep)

    _LOADER = UniqueKeyLoader
    return UniqueKeyLoader
