"""The machine ophsh runs on, as Ophidia's operators about hosts and services see it: one host,
one store, no cluster to deploy; and the operators that have no meaning without Ophidia's
cluster or the web, which say so in one line."""

from __future__ import annotations

import os
import socket

from ophsh.engine.context import OpContext
from ophsh.engine.params import Params
from ophsh.errors import OperatorError

__all__ = ["UNAVAILABLE", "cluster", "instances", "log_info", "showgrid", "unavailable"]

# Why each operator has no meaning here.
UNAVAILABLE = {
    "oph_b2drop": "it uploads to B2DROP, a web service this machine does not reach",
    "oph_publish": "it publishes cubes as web pages on Ophidia's web server, which ophsh has not",
    "oph_unpublish": "it removes pages from Ophidia's web server, which ophsh has not",
    "oph_cdo": "it runs the CDO programs on Ophidia's cluster, which ophsh does not drive",
    "oph_generic": "it runs programs on Ophidia's cluster, which ophsh does not drive",
    "oph_importesdm": "it reads ESDM storage, which the embedded store does not have",
    "oph_importesdm2": "it reads ESDM storage, which the embedded store does not have",
    "oph_exportesdm": "it writes ESDM storage, which the embedded store does not have",
    "oph_exportesdm2": "it writes ESDM storage, which the embedded store does not have",
    "oph_concatesdm": "it reads ESDM storage, which the embedded store does not have",
    "oph_concatesdm2": "it reads ESDM storage, which the embedded store does not have",
    "oph_service": "it switches Ophidia's server on and off for its users; ophsh serve has flags",
}


def unavailable(ctx: OpContext, p: Params) -> None:
    name = p.spec.name
    raise OperatorError(f"{name} is not available here: {UNAVAILABLE[name]}")


def instances(ctx: OpContext, p: Params) -> None:
    """The hosts (level 1), the stores (2) and the host partitions (3) work can run on."""
    if p.str("action") != "read":
        raise OperatorError("ophsh runs on one local host: there is no host to add or remove")
    level = p.int("level")
    if level == 1:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 30
        rows = [["1", socket.gethostname(), str(memory), str(os.cpu_count() or 1), "up", "no"]]
        title, keys = "Host List", ("HOST INSTANCE", "HOST NAME", "MEMORY", "CORES")
        keys += ("HOST STATUS", "RESERVED")
        types = ("int", "string", "int", "int", "string", "string")
        summary = "Found 1 host instances"
    elif level == 2:
        rows = [["1", socket.gethostname(), "up", "0", "ophsh_store"]]
        title = "DBMS Instance List"
        keys = ("DBMS INSTANCE", "HOST NAME", "HOST STATUS", "PORT", "I/O SERVER TYPE")
        types = ("int", "string", "string", "int", "string")
        summary = "Found 1 DBMS instances"
    else:
        rows, title = [], "Host Partition : Host List"
        keys = ("HOST PARTITION", "HOST NAME", "HOST STATUS", "RESERVED")
        types = ("string",) * 4
        summary = "No item found"
    ctx.doc.add_grid("instances", title, keys, types, rows)
    ctx.doc.add_text("instances_summary", "Summary", summary)


def cluster(ctx: OpContext, p: Params) -> None:
    raise OperatorError("ophsh runs on this one machine: there is no cluster to deploy or list")


def showgrid(ctx: OpContext, p: Params) -> None:
    """The named grids of a container: the embedded store keeps none."""
    ctx.container(p.str("container"))
    ctx.doc.add_grid("showgrid_list", "Grid List", ("GRID NAME",), ("string",), [])


def log_info(ctx: OpContext, p: Params) -> None:
    """The last lines of the service's log, or of those about one container."""
    kind, count = p.str("log_type"), p.int("nlines")
    if kind == "ioserver":
        raise OperatorError(
            "the embedded store has no separate I/O server; its work is in log_type=server"
        )
    container = None
    if kind == "container":
        container = p.int("container_id")
        if container <= 0:
            raise OperatorError("log_type=container needs container_id, the number in its PID")
        ctx.container(f"{ctx.store.web_server}/{container}")
    lines = ctx.activity.last(count, container=container)
    rows = [[line.timestamp, line.level, line.message] for line in lines]
    ctx.doc.add_grid(
        "log_info", "Log Data", ("TIMESTAMP", "TYPE", "MESSAGE"), ("string",) * 3, rows
    )
