"""A capture session: descriptors 1 and 2 redirected once for many steps' captures."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from knoll.execution.capture import capture_output, capture_session, set_terminal_copy

STEPS = 12
BIG = 1 << 20  # the last step ends with a write bigger than a pipe holds

# Run in a child process, so that its real descriptors 1 and 2 (pipes to this test) are what
# the session redirects, and what reached them can be checked byte for byte.
STEPS_IN_ONE_SESSION = textwrap.dedent(
    """
    import json, os, subprocess, sys, threading
    from pathlib import Path
    from knoll.execution.capture import capture_output, capture_session

    folder, steps, big = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

    def ident(fd):
        st = os.fstat(fd)
        return [st.st_dev, st.st_ino]

    def pumps():
        return sorted(t.ident for t in threading.enumerate() if t.name.startswith("knoll-capture"))

    before = [ident(1), ident(2)]
    inside = []
    with capture_session():
        for i in range(steps):
            print(f"between-{i}")
            os.write(1, f"raw-between-{i}\\n".encode())
            os.write(2, f"raw-between-err-{i}\\n".encode())
            with capture_output(folder / f"{i}.out", folder / f"{i}.err"):
                print(f"py-out-{i}")
                print(f"py-err-{i}", file=sys.stderr)
                os.write(1, f"fd-out-{i}\\n".encode())
                os.write(2, f"fd-err-{i}\\n".encode())
                subprocess.run(["sh", "-c", f"echo from-child-{i}"], check=True)
                subprocess.run(["sh", "-c", f"echo from-child-err-{i} >&2"], check=True)
                inside.append({"fds": [ident(1), ident(2)], "pumps": pumps()})
                if i == steps - 1:
                    os.write(1, b"B" * big + b"\\n")
        print("after-steps")
    after = [ident(1), ident(2)]
    report = {"before": before, "inside": inside, "after": after, "pumps_after": pumps()}
    (folder / "report.json").write_text(json.dumps(report))
    """
)

# A child forked while a session is active must capture on its own, not with the parent's
# readers (which do not exist in it).
FORK_IN_A_SESSION = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from knoll.execution.capture import capture_output, capture_session

    folder = Path(sys.argv[1])
    with capture_session():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                with capture_output(folder / "child.out", folder / "child.err"):
                    print("child-py")
                    os.write(1, b"child-fd\\n")
                with capture_session():
                    with capture_output(folder / "child2.out", folder / "child2.err"):
                        os.write(1, b"child-session-fd\\n")
                code = 0
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        with capture_output(folder / "parent.out", folder / "parent.err"):
            os.write(1, b"parent-fd\\n")
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)

# A step that forks: the child leaves the step and the session it inherited like the parent
# does, which must leave the parent's pipes to the parent.
FORK_IN_A_STEP = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from knoll.execution.capture import capture_output, capture_session

    folder = Path(sys.argv[1])

    def ident(fd):
        st = os.fstat(fd)
        return [st.st_dev, st.st_ino]

    original = ident(1)
    with capture_session():
        in_session = ident(1)
        with capture_output(folder / "step.out", folder / "step.err"):
            pid = os.fork()
            if pid:
                _, status = os.waitpid(pid, 0)
            os.write(1, b"in the step, parent\\n" if pid else b"in the step, child\\n")
        if pid == 0:
            left_step = ident(1)
    if pid == 0:
        report = {"in_session": in_session, "left_step": left_step, "left_session": ident(1)}
        (folder / "child.json").write_text(json.dumps(report))
        os._exit(0)
    assert ident(1) == original
    sys.exit(os.waitstatus_to_exitcode(status))
    """
)


def _run(script: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, check=False, timeout=120
    )


def _fd_ident(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _capture_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("knoll-capture")]


@pytest.mark.skipif(os.name != "posix", reason="descriptor capture is POSIX only")
def test_steps_in_one_session_each_get_exactly_their_own_output(tmp_path: Path) -> None:
    done = _run(STEPS_IN_ONE_SESSION, str(tmp_path), str(STEPS), str(BIG))
    assert done.returncode == 0, done.stderr.decode(errors="replace")

    for i in range(STEPS):
        big = b"B" * BIG + b"\n" if i == STEPS - 1 else b""
        # Python-level writes reach the file at once, descriptor writes through the pipe
        # after them: in each step the former come first, so the order is fixed.
        expected_out = f"py-out-{i}\nfd-out-{i}\nfrom-child-{i}\n".encode() + big
        expected_err = f"py-err-{i}\nfd-err-{i}\nfrom-child-err-{i}\n".encode()
        assert (tmp_path / f"{i}.out").read_bytes() == expected_out
        assert (tmp_path / f"{i}.err").read_bytes() == expected_err

    # the terminal copy: every line exactly once, output between steps included
    expected_stdout = [b"after-steps", b"B" * BIG]
    expected_stderr = []
    for i in range(STEPS):
        expected_stdout += [
            f"between-{i}".encode(),
            f"raw-between-{i}".encode(),
            f"py-out-{i}".encode(),
            f"fd-out-{i}".encode(),
            f"from-child-{i}".encode(),
        ]
        expected_stderr += [
            f"raw-between-err-{i}".encode(),
            f"py-err-{i}".encode(),
            f"fd-err-{i}".encode(),
            f"from-child-err-{i}".encode(),
        ]
    assert sorted(done.stdout.splitlines()) == sorted(expected_stdout)
    assert sorted(done.stderr.splitlines()) == sorted(expected_stderr)

    report = json.loads((tmp_path / "report.json").read_text())
    inside = report["inside"]
    # one redirect and one pair of readers, reused by every step
    assert len({json.dumps(step["fds"]) for step in inside}) == 1
    assert inside[0]["fds"] != report["before"]
    assert len(inside[0]["pumps"]) == 2
    assert all(step["pumps"] == inside[0]["pumps"] for step in inside)
    # after the session: the original descriptors, and no reader left
    assert report["after"] == report["before"]
    assert report["pumps_after"] == []


@pytest.mark.skipif(os.name != "posix", reason="descriptor capture is POSIX only")
def test_a_child_forked_in_a_session_captures_on_its_own(tmp_path: Path) -> None:
    done = _run(FORK_IN_A_SESSION, str(tmp_path))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert (tmp_path / "child.out").read_text() == "child-py\nchild-fd\n"
    assert (tmp_path / "child2.out").read_text() == "child-session-fd\n"
    assert (tmp_path / "parent.out").read_text() == "parent-fd\n"
    assert sorted(done.stdout.splitlines()) == sorted(
        [b"child-py", b"child-fd", b"child-session-fd", b"parent-fd"]
    )


@pytest.mark.skipif(os.name != "posix", reason="descriptor capture is POSIX only")
def test_a_child_forked_by_a_step_leaves_the_parents_session_alone(tmp_path: Path) -> None:
    done = _run(FORK_IN_A_STEP, str(tmp_path))
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    # the child wrote while the parent's step ran: that is the step's output
    assert (tmp_path / "step.out").read_text() == "in the step, child\nin the step, parent\n"
    assert sorted(done.stdout.splitlines()) == [b"in the step, child", b"in the step, parent"]
    child = json.loads((tmp_path / "child.json").read_text())
    assert child["left_step"] == child["in_session"]
    assert child["left_session"] == child["in_session"]


@pytest.mark.skipif(os.name != "posix", reason="descriptor capture is POSIX only")
def test_capture_output_without_a_session_still_works(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    original = _fd_ident(1), _fd_ident(2)
    out, err = tmp_path / "s.out", tmp_path / "s.err"
    with capture_output(out, err):
        print("py-line")
        os.write(1, b"fd-line\n")
        subprocess.run(["sh", "-c", "echo from-child; echo child-err >&2"], check=True)
    assert out.read_text() == "py-line\nfd-line\nfrom-child\n"
    assert err.read_text() == "child-err\n"
    shown = capfd.readouterr()
    assert sorted(shown.out.splitlines()) == ["fd-line", "from-child", "py-line"]
    assert shown.err == "child-err\n"
    assert (_fd_ident(1), _fd_ident(2)) == original
    assert _capture_threads() == []


@pytest.mark.skipif(os.name != "posix", reason="descriptor capture is POSIX only")
def test_nested_sessions_and_sessions_in_other_threads_reuse_the_first(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    original = _fd_ident(1)
    opened, main_left = threading.Event(), threading.Event()
    seen: dict[str, tuple[int, int]] = {}
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            with capture_session():
                seen["thread"] = _fd_ident(1)
                opened.set()
                assert main_left.wait(timeout=60)
                # the session opened first has ended; this one keeps the redirect alive
                seen["thread after main left"] = _fd_ident(1)
                with capture_output(tmp_path / "t.out", tmp_path / "t.err"):
                    os.write(1, b"from the thread\n")
        except BaseException as exc:
            errors.append(exc)

    with capture_session():
        seen["outer"] = _fd_ident(1)
        with capture_session():
            seen["nested"] = _fd_ident(1)
            with capture_output(tmp_path / "n.out", tmp_path / "n.err"):
                os.write(1, b"nested step\n")
        seen["after nested"] = _fd_ident(1)
        worker = threading.Thread(target=other_thread)
        worker.start()
        assert opened.wait(timeout=60)
    main_left.set()
    worker.join(timeout=60)
    assert errors == []
    assert seen["outer"] != original
    assert set(seen.values()) == {seen["outer"]}
    assert (tmp_path / "n.out").read_text() == "nested step\n"
    assert (tmp_path / "t.out").read_text() == "from the thread\n"
    assert _fd_ident(1) == original
    assert _capture_threads() == []
    assert sorted(capfd.readouterr().out.splitlines()) == ["from the thread", "nested step"]


def test_a_session_without_descriptor_capture_leaves_the_descriptors_alone(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    original = _fd_ident(1)
    with capture_session(capture_fds=False):
        assert _fd_ident(1) == original
        assert _capture_threads() == []
        with capture_output(tmp_path / "s.out", tmp_path / "s.err", capture_fds=False):
            print("python only")
            os.write(1, b"not captured\n")
    assert (tmp_path / "s.out").read_text() == "python only\n"
    assert sorted(capfd.readouterr().out.splitlines()) == ["not captured", "python only"]


@pytest.mark.parametrize("in_session", [False, True])
def test_without_a_terminal_copy_step_output_is_kept_only_in_its_files(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], in_session: bool
) -> None:
    out, err = tmp_path / "s.out", tmp_path / "s.err"
    set_terminal_copy(False)
    try:
        with capture_session() if in_session else contextlib.nullcontext():
            os.write(1, b"before-step\n")
            with capture_output(out, err):
                print("py-line")
                os.write(1, b"fd-line\n")
                subprocess.run(["sh", "-c", "echo child-err >&2"], check=True)
            print("after-step", flush=True)
    finally:
        set_terminal_copy(True)
    assert out.read_text() == "py-line\nfd-line\n"
    assert err.read_text() == "child-err\n"
    shown = capfd.readouterr()
    assert shown.out.splitlines() == ["before-step", "after-step"]
    assert shown.err == ""
