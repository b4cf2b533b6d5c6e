"""How long ``ophsh -e COMMAND`` takes to start and answer, and what its imports cost.

    python scripts/bench_startup.py [--runs 20] [--command "oph_list"] [--top 12]

Runs the command on a fresh store (created by a first, untimed run, which also writes the
bytecode of ophsh's modules, as a normal installation has it) ``--runs`` times, prints the
fastest and the median wall time beside a bare ``python -c pass`` (the interpreter's own start),
then the modules whose import took longest (``python -X importtime``, cumulative).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def imports(command: list[str], env: dict[str, str], top: int) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        rows.append((int(cumulative), name.rstrip()))
    rows.sort(reverse=True)
    return rows[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--command", default="oph_list")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "OPHSH_STORE": str(Path(tmp) / "store")}
        command = [sys.executable, "-m", "ophsh", "-q", "-e", args.command]
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)  # store, caches
        bare = [wall([sys.executable, "-c", "pass"], env) for _ in range(args.runs)]
        runs = [wall(command, env) for _ in range(args.runs)]
        print(f"ophsh -e {args.command!r}, {args.runs} runs, load average {os.getloadavg()[0]:.2f}")
        print(
            f"  python -c pass   fastest {min(bare):.3f} s   median {statistics.median(bare):.3f} s"
        )
        print(
            f"  ophsh            fastest {min(runs):.3f} s   median {statistics.median(runs):.3f} s"
        )
        print("slowest imports (cumulative ms):")
        for micros, name in imports(command, env, args.top):
            print(f"  {micros / 1000:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
