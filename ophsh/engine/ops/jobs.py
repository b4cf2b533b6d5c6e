"""oph_loggingbk: the jobs of the user's sessions (the `jobs` alias)."""

from __future__ import annotations

from ophsh.engine.context import OpContext
from ophsh.engine.massive import like
from ophsh.engine.params import Params
from ophsh.errors import ValidationError

__all__ = ["loggingbk"]

SESSION_COLUMNS = ("Session_ID", "Session_Label", "Session_Creation_Date")
JOB_COLUMNS = ("Job_ID", "Parent_Job_ID", "Workflow_ID", "Marker_ID")
INT_COLUMNS = frozenset({"Job_ID", "Parent_Job_ID", "Workflow_ID", "Marker_ID"})


def _filter(p: Params, name: str, ctx: OpContext) -> str:
    value = p.str(name)
    if value == "@OPH_SESSION_ID":  # the server's own variable, as the jobs alias sends it
        return ctx.session.url
    return "%" if value in ("", "all") else value


def loggingbk(ctx: OpContext, p: Params) -> None:
    """Sessions (job_level=0) or their jobs (1, 2); mask adds status, command, start/end."""
    mask = (p.str("mask") + "000")[:3]
    if any(c not in "01" for c in mask):
        raise ValidationError("mask is three digits, each 0 or 1", param="mask")
    columns = list(SESSION_COLUMNS)
    jobs = p.int("job_level") > 0
    if jobs:
        columns += JOB_COLUMNS
        columns += ["Job_Status"] if mask[0] == "1" else []
        columns += ["Job_Start_Date", "Job_End_Date"] if mask[2] == "1" else []
        columns += ["Job_Submission_String"] if mask[1] == "1" else []
    session_filter = _filter(p, "session_filter", ctx)
    label_filter = _filter(p, "session_label_filter", ctx)
    rows = []
    for session in ctx.sessions.of_user(ctx.user):
        if not like(session.url, session_filter) or not like(session.label, label_filter):
            continue
        head = [session.url, session.label, session.created]
        if not jobs:
            rows.append(head)
            continue
        for job in ctx.sessions.jobs(session):
            if not like(job.command, _filter(p, "submission_string_filter", ctx)):
                continue
            values = {
                "Job_ID": job.marker,
                "Parent_Job_ID": "",
                "Workflow_ID": job.workflow,
                "Marker_ID": job.marker,
                "Job_Status": job.status,
                "Job_Start_Date": job.created,
                "Job_End_Date": job.finished or "",
                "Job_Submission_String": job.command,
            }
            rows.append(head + [values[c] for c in columns[len(head) :]])
    limit = p.int("nlines")
    rows = rows[-limit:] if limit > 0 else rows
    types = ["int" if c in INT_COLUMNS else "string" for c in columns]
    ctx.doc.add_grid("loggingbk", "", columns, types, rows)
