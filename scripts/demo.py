"""The main job: generate a night of raw frames and calibrate it with ophsh.

Everything happens under ``./demo`` (frames in ``demo/raw``, the embedded store in
``demo/store``, calibrated images in ``demo/calibrated``), through the real ``ophsh`` command
line, so what you see is what you get when you type the same commands yourself: first the
INDIGO tutorial's terminal section, then ``scripts/calibrate.oph`` (master bias, normalised
flats, science frames per filter). It tells the story in a few lines: each command of the
tutorial with what it gave, the calibration in one line, where the results are and what to try
next; every reply is kept in ``demo/replies``. Run it again at any time: the store is made
afresh.

    python scripts/demo.py [--dir demo] [--size 512x512]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from make_frames import make_night

SCRIPTS = Path(__file__).resolve().parent


CONTEXT_KEYS = ("sessionid", "exec_mode", "cwd", "cdd", "host_partition", "ncores")


def ophsh(store: Path, *args: str, cwd: Path, log: Path) -> list[dict]:
    """Run the real ``ophsh -j`` on ``store``, keep every reply in ``log``, and return them;
    stop the demo, showing why, if it fails."""
    command = [sys.executable, "-m", "ophsh", "-j", "--store", str(store), *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(done.stdout)
    replies = _envelopes(done.stdout)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"demo: ophsh exited with status {done.returncode}; replies in {log}")
    return replies


def _envelopes(text: str) -> list[dict]:
    """The JSON objects ``ophsh -j`` printed one after the other."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        item, i = decoder.raw_decode(text, i)
        out.append(item)


def _said(envelope: dict) -> str:
    """One line saying what a command gave: its summary, its output, or its text."""
    found: dict[str, str] = {}
    rows = 0
    for obj in (envelope.get("response") or {}).get("response") or []:
        for item in obj.get("objcontent") or []:
            if obj.get("objclass") == "text" and item.get("message"):
                found.setdefault(item.get("title") or "", item["message"])
            elif obj.get("objclass") == "grid":
                rows += len(item.get("rowvalues") or [])
    status = found.get("Massive Operation Status")
    if status:  # a massive operation: how many tasks, and how it ended
        return f"{rows} task(s) {status.removeprefix('OPH_STATUS_').lower()}"
    for title in ("Summary", "Output Cube", "Output Container"):
        if title in found:
            return f"{title.lower()}: {found[title]}" if title != "Summary" else found[title]
    if envelope.get("stdout"):
        return envelope["stdout"].splitlines()[0]
    return f"{rows} row(s)" if rows else "done"


def _typed(request: str) -> str:
    """The request without the context the shell adds to every command."""
    for key in CONTEXT_KEYS:
        request = re.sub(rf"(?<=;){key}=[^;]*;|(?<= ){key}=[^;]*;", "", request)
    return request if len(request) <= 72 else request[:69] + "..."


def tell(replies: list[dict]) -> None:
    for envelope in replies:
        print(f"  {_typed(envelope['request']):<74} {_said(envelope)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("demo"), help="where to work")
    parser.add_argument("--size", default="512x512", help="frame size COLUMNSxROWS")
    args = parser.parse_args(argv)

    work = args.dir.resolve()
    raw, store, logs = work / "raw", work / "store", work / "replies"
    cols, _, rows = args.size.partition("x")
    shape = (int(rows or cols), int(cols))
    if raw.exists():
        shutil.rmtree(raw)
    frames = make_night(raw, shape=shape, n_bias=5, n_flats=3, n_science=2)
    print(f"1. Generated {len(frames)} raw frames ({shape[1]}x{shape[0]}, uint16) in {raw}")
    if store.exists():
        shutil.rmtree(store)

    print("\n2. The tutorial's terminal section (scripts/tutorial_terminal.oph) on a fresh store:")
    tell(
        ophsh(
            store,
            str(SCRIPTS / "tutorial_terminal.oph"),
            "raw",
            cwd=work,
            log=logs / "tutorial.json",
        )
    )
    calibrated = work / "calibrated"
    if calibrated.exists():
        shutil.rmtree(calibrated)
    print("\n3. The calibration (scripts/calibrate.oph raw calibrated):")
    replies = ophsh(
        store,
        str(SCRIPTS / "calibrate.oph"),
        "raw",
        "calibrated",
        cwd=work,
        log=logs / "calibrate.json",
    )
    operators = Counter(e["request"].split(None, 1)[0] for e in replies)
    print(
        f"  {len(replies)} commands ran: "
        + ", ".join(f"{n} {name}" for name, n in operators.most_common())
    )
    print(f"  Every reply, as oph_term's -j prints it, is in {logs}")
    report(calibrated)
    print(
        "\nTry it yourself: open the shell on this store and look around:\n"
        f"  cd {work} && {Path(sys.executable).parent / 'ophsh'} --store store\n"
        "  then: ll (the cubes), help, man oph_reduce2, show preview=yes (the current cube);\n"
        "  or run the calibration again: ophsh --store store "
        f"{SCRIPTS / 'calibrate.oph'} raw calibrated"
    )
    return 0


def report(calibrated: Path) -> None:
    """Where the calibrated images are, a few numbers about each, and how to look at them."""
    from astropy.io import fits

    print(f"\nCalibrated images in {calibrated}:")
    for path in sorted(calibrated.glob("*.fits")):
        data = fits.getdata(path)
        print(
            f"  {path.name:28} {data.shape[1]}x{data.shape[0]}  median {np.nanmedian(data):10.4f}"
            f"  max {np.nanmax(data):10.4f}"
        )
    example = calibrated / "calibrated_V_JOHN_11.fits"
    print(
        "\nLook at them with SAOImage DS9 or any FITS viewer, e.g.\n"
        f"  ds9 -zscale {example}\n"
        "or in Python:\n"
        f"  from astropy.io import fits; fits.getdata('{example}')\n"
        "Each file's header keeps the frame's metadata and, as HISTORY, the commands that made it."
    )


if __name__ == "__main__":
    raise SystemExit(main())
