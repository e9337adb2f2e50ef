"""The one YAML reader of knoll.yaml, workspace.yaml and run config files."""

from __future__ import annotations

from pathlib import Path

import pytest

from knoll._yaml import parse_yaml, read_yaml_file
from knoll.codeloc.workspace import load_workspace
from knoll.defs.run_config import load_run_config
from knoll.errors import ConfigFileError, InvalidConfigError, WorkspaceError
from knoll.instance import Instance

NOT_UTF8 = b"load_from:\n  - python_module: caf\xe9\n"


def test_a_key_given_twice_names_the_key_and_both_lines() -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_yaml("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n", "the file f.yaml")
    assert str(info.value) == (
        "the file f.yaml: line 5, column 3: the key 'c' is given twice in one mapping, at "
        "line 3 and at line 5. Keep one of them."
    )


def test_merge_keys_may_still_be_overridden() -> None:
    text = "base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  b: 3\n"
    assert parse_yaml(text, "f") == {"base": {"a": 1, "b": 2}, "other": {"a": 1, "b": 3}}


def test_a_file_that_is_not_utf8_gives_the_byte_position(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(ConfigFileError) as info:
        read_yaml_file(path, "the file f.yaml")
    assert str(info.value) == (
        "the file f.yaml: the file is not UTF-8: byte 0xe9 at byte position 33 (line 2, column "
        "23) cannot be decoded. Save the file as UTF-8."
    )


def test_a_workspace_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "workspace.yaml"
    path.write_text("load_from:\n  - python_module:\n      module_name: a\n      module_name: b\n")
    with pytest.raises(WorkspaceError) as info:
        load_workspace(path)
    assert str(info.value) == (
        f"workspace file {str(path)!r}: line 4, column 7: the key 'module_name' is given twice "
        "in one mapping, at line 3 and at line 4. Keep one of them."
    )


def test_a_workspace_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "workspace.yaml"
    path.write_bytes(NOT_UTF8)
    with pytest.raises(WorkspaceError, match=r"is not UTF-8: byte 0xe9 at byte position 33 "):
        load_workspace(path)


def test_a_knoll_yaml_with_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "knoll.yaml").write_text("run_queue:\n  max_concurrent_runs: 2\nrun_queue: {}\n")
    with pytest.raises(InvalidConfigError) as info:
        Instance.get(tmp_path)
    assert str(info.value) == (
        f"instance settings {tmp_path / 'knoll.yaml'}: line 3, column 1: the key 'run_queue' is "
        "given twice in one mapping, at line 1 and at line 3. Keep one of them."
    )


def test_a_run_config_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_bytes(b"ops:\n  knob:\n    config: {name: \xff}\n")
    with pytest.raises(InvalidConfigError) as info:
        load_run_config(path)
    assert str(info.value) == (
        f"run config file {str(path)!r}: the file is not UTF-8: byte 0xff at byte position 32 "
        "(line 3, column 20) cannot be decoded. Save the file as UTF-8."
    )
