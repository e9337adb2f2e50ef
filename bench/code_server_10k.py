"""How long a code server takes to load a location with 10,000 assets (a measurement, not a test).

Run: ``.venv/bin/python bench/code_server_10k.py [N]``. It writes a module with N assets (each
depending on up to two earlier ones), starts a code server for it as a real process, and
reports the time until the snapshot is served, the snapshot's size, and the time of a reload.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from knoll.codeloc.loader import CodeLocationTarget
from knoll.codeloc.workspace import start_workspace, workspace_from_target


def write_module(folder: Path, count: int) -> Path:
    lines = ["from knoll import Definitions, asset", ""]
    for i in range(count):
        deps = [f"a{j}" for j in (i - 1, i // 2) if 0 <= j < i]
        params = ", ".join(f"{d}: int" for d in dict.fromkeys(deps))
        body = " + ".join(dict.fromkeys(deps)) or "1"
        lines += [
            f"@asset(group_name='g{i % 20}')",
            f"def a{i}({params}) -> int:",
            f"    return {body}",
            "",
        ]
    names = ", ".join(f"a{i}" for i in range(count))
    lines.append(f"defs = Definitions(assets=[{names}])")
    path = folder / "big_location.py"
    path.write_text("\n".join(lines))
    return path


def main(count: int) -> None:
    with tempfile.TemporaryDirectory(prefix="knoll-bench-") as tmp:
        path = write_module(Path(tmp), count)
        workspace = workspace_from_target(CodeLocationTarget(python_file=str(path)), "big")
        started = time.perf_counter()
        with start_workspace(workspace, timeout=600) as processes:
            client = processes.client("big")
            answered = time.perf_counter()
            snapshot = client.snapshot()
            served = time.perf_counter()
            assert snapshot.ok, snapshot.error
            text_size = len(str(snapshot.snapshot))
            again = time.perf_counter()
            client.snapshot()  # cached: the server answers 304
            cached = time.perf_counter()
            reload_start = time.perf_counter()
            client.reload(timeout=600)
            client.snapshot()
            reloaded = time.perf_counter()
        print(f"assets:                         {count}")
        print(f"process answering /health:      {answered - started:.2f}s")
        print(f"start to snapshot served:       {served - started:.2f}s (cold, .pyc written)")
        print(f"snapshot size (approx chars):   {text_size:,}")
        print(f"cached snapshot (304):          {(cached - again) * 1000:.1f}ms")
        print(f"reload to new snapshot served:  {reloaded - reload_start:.2f}s (warm .pyc)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
