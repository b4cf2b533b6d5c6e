"""oph_script: run a program of the data directory with the task's context in its environment.

Ophidia runs scripts its administrator registered; ophsh runs an executable file under the data
directory (relative paths start at cdd), with ``args`` split on ``|`` and the context as
OPH_SCRIPT_* variables. The local shell allows it; ``ophsh serve`` refuses it unless started
with ``--allow-scripts`` (its users would run programs on the server's machine).
"""

from __future__ import annotations

import os
import subprocess

from ophsh.engine.context import OpContext
from ophsh.engine.params import Params
from ophsh.engine.paths import shown
from ophsh.errors import OperatorError

__all__ = ["script"]


def script(ctx: OpContext, p: Params) -> None:
    if not ctx.settings.scripts:
        raise OperatorError(
            "oph_script is not allowed on this server",
            hint="its administrator may start ophsh serve with --allow-scripts",
        )
    name = p.str("script").strip()
    if p.yes("list"):
        ctx.doc.add_grid("script", "Scripts", ("COMMAND", "SCRIPT"), ("string", "string"), [])
        return
    if name in ("", ":"):
        ctx.doc.add_text("script_returncode", "Return code", "0")
        return
    program = ctx.paths.real(ctx.cdd, name)
    if not program.is_file() or not os.access(program, os.X_OK):
        raise OperatorError(f"'{shown(name)}' is not an executable file of the data directory")
    args = [a for a in p.list("args") if a] if p.opt("args") else []
    env = {
        **os.environ,
        "OPH_SCRIPT_DATA_PATH": str(ctx.paths.base),
        "OPH_SCRIPT_SESSION_CODE": ctx.session.code,
        "OPH_SCRIPT_USER": ctx.user,
        "OPH_SCRIPT_WORKFLOW_ID": str(ctx.marker[0]) if ctx.marker else "",
        "OPH_SCRIPT_MARKER_ID": str(ctx.marker[1]) if ctx.marker else "",
    }
    cwd = ctx.paths.real(ctx.cdd, None)
    with subprocess.Popen(
        [str(program), *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as child:
        while True:
            try:
                out, err = child.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if ctx.cancel.is_set():
                    child.kill()
                    child.communicate()
                    ctx.check_cancel()
    ctx.doc.add_text("script", "Script output", out.decode(errors="replace").rstrip("\n"))
    if err:
        ctx.doc.add_text("script", "Script errors", err.decode(errors="replace").rstrip("\n"))
    ctx.doc.add_text("script_returncode", "Return code", str(child.returncode))
    if child.returncode:
        raise OperatorError(f"'{shown(name)}' ended with status {child.returncode}")
