"""JSON workflows on the embedded store: checks, dependencies, loops, branches, errors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from astropy.io import fits
from conftest import ophsh

RANDCUBE = (
    "oph_randcube",
    [
        "container=rnd",
        "dim=lat|lon|time",
        "dim_size=3|2|5",
        "exp_ndim=2",
        "nfrag=3",
        "ntuple=2",
        "measure=tas",
        "measure_type=double",
    ],
)


def task(name, operator, arguments=(), *deps, **extra):
    return {
        "name": name,
        "operator": operator,
        "arguments": list(arguments),
        "dependencies": list(deps),
        **extra,
    }


def single(parent, argument="cube"):
    return {"task": parent, "type": "single", "argument": argument}


def after(parent):
    return {"task": parent}


def workflow(*tasks, **header):
    return {
        "name": "test",
        "author": "tests",
        "abstract": "a test",
        "exec_mode": "sync",
        **header,
        "tasks": list(tasks),
    }


def base_tasks():
    return [
        task(
            "container",
            "oph_createcontainer",
            ["container=rnd", "dim=lat|lon|time", "dim_type=double|double|double"],
        ),
        task("random", RANDCUBE[0], RANDCUBE[1], after("container")),
        task(
            "export",
            "oph_exportfits",
            ["output_path=out", "output_name=random", "force=yes"],
            single("random"),
        ),
    ]


@pytest.fixture
def submit(shell, tmp_path):
    """Write a workflow to a file and submit it as ./file.json from the shell."""

    def _submit(document: dict, *args: str):
        path = tmp_path / "data" / "wf.json"
        path.write_text(json.dumps(document))
        return shell.run_line(" ".join(["./wf.json", *args]))

    return _submit


def statuses(outcome) -> dict[str, str]:
    grid = outcome.reply.document.grid("workflow_list")
    return {row[5]: row[7].removeprefix("OPH_STATUS_") for row in grid.rows}


def fits_data(tmp_path, name: str) -> np.ndarray:
    return fits.getdata(tmp_path / "data" / "out" / f"{name}.fits").astype(np.float64)


def test_dependencies_pass_cubes_and_the_numbers_are_right(submit, tmp_path):
    outcome = submit(
        workflow(
            *base_tasks(),
            task("mean", "oph_reduce", ["operation=avg"], single("random")),
            task("overall", "oph_aggregate", ["operation=avg"], single("mean")),
            task(
                "save",
                "oph_exportfits",
                ["output_path=out", "output_name=mean", "force=yes"],
                single("overall"),
            ),
        )
    )
    assert outcome.ok, outcome.message
    assert set(statuses(outcome).values()) == {"COMPLETED"}
    random = fits_data(tmp_path, "random")  # lat x lon x time, as the cube's array
    assert np.allclose(fits_data(tmp_path, "mean"), random.mean(axis=2).mean())


def test_a_loop_over_a_dimension_with_subset_and_aggregate(submit, tmp_path):
    outcome = submit(
        workflow(
            *base_tasks(),
            task("loop", "oph_for", ["key=i", "counter=1:3"], single("random")),
            task("pick", "oph_subset", ["subset_dims=lat", "subset_filter=&{i}"], single("loop")),
            task("series", "oph_aggregate", ["operation=avg"], single("pick")),
            task(
                "save",
                "oph_exportfits",
                ["output_path=out", "output_name=lat&{i}", "force=yes"],
                single("series"),
            ),
            task("end", "oph_endfor", [], after("save")),
        )
    )
    assert outcome.ok, outcome.message
    assert sum(name.startswith("save [") for name in statuses(outcome)) == 3
    random = fits_data(tmp_path, "random")
    for i in range(3):
        assert np.allclose(fits_data(tmp_path, f"lat{i + 1}").ravel(), random[i].mean(axis=0))


def test_if_else_with_a_variable_from_oph_set(submit):
    outcome = submit(
        workflow(
            task("set", "oph_set", ["key=x", "value=3"]),
            task("if", "oph_if", ["condition=@x > 2"], after("set")),
            task("yes", "oph_createcontainer", ["container=big", "dim=x"], after("if")),
            task("else", "oph_else", [], after("if")),
            task("no", "oph_createcontainer", ["container=small", "dim=x"], after("else")),
            task("end", "oph_endif", [], after("yes"), after("no")),
        )
    )
    assert outcome.ok, outcome.message
    done = statuses(outcome)
    assert done["yes"] == "COMPLETED" and done["no"] == "UNSELECTED" and done["end"] == "COMPLETED"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("continue", {"bad": "ERROR", "child": "ABORTED", "other": "COMPLETED"}),
        ("break", {"bad": "ERROR", "child": "ABORTED", "other": "ABORTED"}),
        ("skip", {"bad": "SKIPPED", "child": "COMPLETED", "other": "COMPLETED"}),
    ],
)
def test_on_error(submit, policy, expected):
    outcome = submit(
        workflow(
            task("bad", "oph_deletecontainer", ["container=nothing_here"], on_error=policy),
            task("child", "oph_createcontainer", ["container=after_bad", "dim=x"], after("bad")),
            task(
                "other", "oph_createcontainer", ["container=independent", "dim=x"], {"task": "wait"}
            ),
            task("wait", "oph_wait", ["type=clock", "timeout=0.2"]),
        )
    )
    assert statuses(outcome) | {"wait": "x"} == expected | {"wait": "x"}
    assert outcome.ok == (policy == "skip")


def test_repeat_tries_again_then_fails(submit):
    outcome = submit(
        workflow(
            task("bad", "oph_deletecontainer", ["container=nothing_here"], on_error="repeat 2"),
            direct_output="no",  # one task, but answer with the workflow's own document
        )
    )
    assert statuses(outcome) == {"bad": "ERROR"}
    assert "nothing_here" in outcome.message


def test_independent_tasks_run_in_parallel_up_to_ncores(submit):
    tasks = [task(f"c{i}", "oph_createcontainer", [f"container=c{i}", "dim=x"]) for i in range(4)]
    outcome = submit(workflow(*tasks, ncores="2"))
    assert outcome.ok and set(statuses(outcome).values()) == {"COMPLETED"}


def test_on_exit_deletes_intermediate_cubes(submit, run):
    outcome = submit(
        workflow(
            task(
                "container",
                "oph_createcontainer",
                ["container=rnd", "dim=lat|lon|time", "dim_type=double|double|double"],
            ),
            task("random", *RANDCUBE, after("container"), on_exit="oph_delete"),
            task("mean", "oph_reduce", ["operation=avg"], single("random")),
        )
    )
    assert outcome.ok, outcome.message
    outputs = {r[5]: r[8] for r in outcome.reply.document.grid("workflow_list").rows}
    listed = run("oph_list level=2;path=/").reply.document.grid("list").rows
    pids = {r[2] for r in listed}
    assert outputs["mean"] in pids and outputs["random"] not in pids


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (workflow(task("a", "oph_reduse", ["operation=avg"])), ["'a'", "did you mean oph_reduce"]),
        (workflow(task("a", "oph_list", [], after("zz"))), ["'a'", "'zz'"]),
        (
            workflow(task("a", "oph_list", [], after("b")), task("b", "oph_list", [], after("a"))),
            ["cycle"],
        ),
        (workflow(task("a", "oph_createcontainer", ["container=$2", "dim=x"])), ["$2", "'a'"]),
        (workflow(task("a", "oph_list", ["levl=2"])), ["'a'", "level"]),
    ],
)
def test_invalid_workflows_are_refused_before_anything_runs(submit, run, document, words):
    document["tasks"].insert(0, task("first", "oph_createcontainer", ["container=early", "dim=x"]))
    outcome = submit(document, "one")
    assert not outcome.ok
    for word in words:
        assert word in outcome.message
    names = [r[1] for r in run("oph_list path=/").reply.document.grid("list").rows]
    assert "early" not in names  # nothing was executed


def test_async_returns_a_job_then_watch_and_view_show_it(submit, shell):
    outcome = submit(workflow(*base_tasks(), exec_mode="async"))
    assert outcome.ok and outcome.reply.document is None and "?" in outcome.reply.jobid
    watched = shell.run_line("watch")
    assert watched.ok, watched.message
    assert watched.reply.document.text_titled("Workflow Status") == "OPH_STATUS_COMPLETED"
    assert len(watched.reply.document.grid("workflow_list").rows) == 3


def test_kill_stops_a_background_workflow(submit, shell):
    nap = task("nap", "oph_wait", ["type=clock", "timeout=120"])  # two minutes unless killed
    outcome = submit(workflow(nap, task("later", "oph_list", [], after("nap")), exec_mode="async"))
    number = outcome.reply.jobid.split("?")[1].split("#")[0]
    killed = shell.run_line(f"kill {number}")  # oph_term's alias for oph_cancel id=$1
    assert killed.ok
    assert killed.reply.document.text_titled("Cancel") == f"Workflow {number}: kill requested"
    watched = shell.run_line("watch")
    assert watched.reply.document.text_titled("Workflow Status") == "OPH_STATUS_ABORTED"
    assert statuses(watched) == {"nap": "ABORTED", "later": "ABORTED"}
    again = shell.run_line(f"kill {number}")
    assert not again.ok and f"workflow {number} is not running" in again.message


def test_check_prints_the_graph(shell, tmp_path):
    (tmp_path / "data" / "wf.json").write_text(json.dumps(workflow(*base_tasks())))
    outcome = shell.run_line("check wf.json")
    assert outcome.ok and "is valid: 3 task(s)" in outcome.text
    assert "export [oph_exportfits] <- random (single -> cube)" in outcome.text


def test_ophsh_w_with_arguments(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(
        json.dumps(workflow(task("a", "oph_createcontainer", ["container=$1", "dim=x"])))
    )
    result = ophsh("--store", str(tmp_path / "s"), "-w", str(path), "-a", "named", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = ophsh("--store", str(tmp_path / "s"), "-e", "ls", cwd=tmp_path)
    assert "named" in listed.stdout


def test_a_workflow_killed_midway_leaves_a_consistent_store(tmp_path):
    path = tmp_path / "wf.json"
    path.write_text(
        json.dumps(
            workflow(
                *base_tasks()[:2],
                task("pause", "oph_wait", ["type=clock", "timeout=60"], after("random")),
                task("late", "oph_reduce", ["operation=avg"], single("random"), after("pause")),
            )
        )
    )
    store = tmp_path / "s"
    assert ophsh("--store", str(store), "-e", "pwd", cwd=tmp_path).returncode == 0
    log = (tmp_path / "workflow.log").open("w")
    child = subprocess.Popen(
        [sys.executable, "-m", "ophsh", "--store", str(store), "-w", str(path)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def cubes() -> list[str]:
        listed = ophsh("--store", str(store), "-j", "-e", "oph_list level=2;path=/", cwd=tmp_path)
        if listed.returncode:
            return []  # the store is still being made
        rows = json.loads(listed.stdout)["response"]["response"][0]["objcontent"][0]["rowvalues"]
        return [r[2] for r in rows if len(r) > 2 and r[2]]

    deadline = time.monotonic() + 60  # a bound for a busy machine, not a timing check
    while not cubes() and time.monotonic() < deadline:  # the random cube exists: kill
        time.sleep(0.2)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    log.close()
    cubes = cubes()
    # the random cube, whole; the reduction never started
    assert len(cubes) == 1, (tmp_path / "workflow.log").read_text()
    shown = ophsh("--store", str(store), "-e", f"oph_explorecube cube={cubes[0]}", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr


def test_all_dependencies_with_a_filter_pass_chosen_outputs_of_a_massive_task(
    submit, run, tmp_path
):
    from factories import raw_frame, write_fits

    for i in range(3):
        data, cards = raw_frame(shape=(4, 3), seed=i)
        write_fits(tmp_path / "data" / "raw" / f"f{i}.fits", data, **cards)
    outcome = submit(
        workflow(
            task(
                "box",
                "oph_createcontainer",
                ["container=c", "dim=NAXIS2|NAXIS1", "dim_type=int|int"],
            ),
            task(
                "import",
                "oph_importfits",
                ["src_path=[path=raw;file=*.fits]", "container=c"],
                after("box"),
            ),
            task(
                "pair",
                "oph_mergecubes2",
                ["dim=z"],
                {"task": "import", "type": "all", "argument": "cubes", "filter": "1:2"},
            ),
        )
    )
    assert outcome.ok, outcome.message
    rows = {r[5]: r for r in outcome.reply.document.grid("workflow_list").rows}
    assert rows["import"][6] == "MASSIVE" and len(rows["import"][8].split("|")) == 3
    dims = run(f"oph_cubeschema cube={rows['pair'][8]}").reply.document.grid("cubeschema_diminfo")
    sizes = {r[0]: r[2] for r in dims.rows}
    assert str(sizes["z"]) == "2"  # the filter passed the first two of the three frames


def test_elseif_takes_the_first_true_branch(submit):
    outcome = submit(
        workflow(
            task("set", "oph_set", ["key=n", "value=5"]),
            task("if", "oph_if", ["condition=@n > 10"], after("set")),
            task("big", "oph_createcontainer", ["container=big", "dim=x"], after("if")),
            task("elif", "oph_elseif", ["condition=@n > 3"], after("if")),
            task("medium", "oph_createcontainer", ["container=medium", "dim=x"], after("elif")),
            task("else", "oph_else", [], after("elif")),
            task("small", "oph_createcontainer", ["container=small", "dim=x"], after("else")),
            task("end", "oph_endif", [], after("big"), after("medium"), after("small")),
        )
    )
    assert outcome.ok, outcome.message
    done = statuses(outcome)
    assert (done["big"], done["medium"], done["small"]) == ("UNSELECTED", "COMPLETED", "UNSELECTED")


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")
def test_check_draws_the_graph_as_png(shell, tmp_path):
    (tmp_path / "data" / "wf.json").write_text(json.dumps(workflow(*base_tasks())))
    outcome = shell.run_line("check wf.json --png graph.png")
    assert outcome.ok, outcome.message
    assert (tmp_path / "data" / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_view_draws_the_run_coloured_by_status_when_oph_term_imgs_asks(shell, run, tmp_path):
    import json as _json
    import shutil as _shutil

    flow = {
        "name": "two",
        "exec_mode": "sync",
        "tasks": [
            {"name": "mk", "operator": "oph_folder", "arguments": ["command=mkdir", "path=w"]},
            {
                "name": "ls",
                "operator": "oph_list",
                "arguments": ["path=w"],
                "dependencies": [{"task": "mk"}],
            },
        ],
    }
    (tmp_path / "data" / "two.json").write_text(_json.dumps(flow))
    run("./two.json")
    run("setenv OPH_TERM_IMGS=save")
    viewed = run("view")
    if _shutil.which("dot") is None:
        assert viewed.notes == ["OPH_TERM_IMGS=save: no graph drawn, graphviz's dot is missing"]
        return
    drawn = next((tmp_path / "data").glob("*.svg")).read_text()
    assert viewed.notes[0].startswith("graph of the run written to")
    assert "palegreen" in drawn  # both tasks completed


def test_wait_for_a_file_then_go_on_with_the_variables_it_sets(submit, run, tmp_path):
    flag = tmp_path / "data" / "ready.flag"
    timer = threading.Timer(0.5, flag.write_text, args=("done",))
    timer.start()
    waiting = ["type=file", "filename=ready.flag", "timeout=30", "key=name", "value=made_after"]
    outcome = submit(
        workflow(
            task("wait", "oph_wait", waiting),
            task("make", "oph_createcontainer", ["container=@name", "dim=x"], after("wait")),
        )
    )
    timer.join()
    assert outcome.ok and statuses(outcome) == {"wait": "COMPLETED", "make": "COMPLETED"}
    assert run("oph_containerschema container=made_after")
    late = submit(
        workflow(task("wait", "oph_wait", ["type=file", "filename=no.flag", "timeout=1"]))
    )
    assert not late.ok and "'no.flag' did not appear in 1 s" in late.message


def test_a_lone_wait_runs_from_the_prompt(shell, tmp_path):
    (tmp_path / "data" / "here.flag").write_text("")
    assert shell.run_line("oph_wait type=file;filename=here.flag;timeout=5").ok
    missing = shell.run_line("oph_wait type=file;filename=gone.flag;timeout=1")
    assert not missing.ok and "'gone.flag' did not appear in 1 s" in missing.message


def answer_when_waiting(shell, line: str):
    """oph_input as soon as the task has started waiting (the workflow runs in the background)."""
    for _ in range(100):
        outcome = shell.run_line(line)
        if outcome.ok or "is waiting for input" not in outcome.message:
            return outcome
        time.sleep(0.1)
    return outcome


@pytest.mark.parametrize("action", ["continue", "abort"])
def test_a_workflow_waits_for_oph_input(submit, shell, run, action):
    ask = task("ask", "oph_wait", ["type=input", "timeout=60"])
    make = task("make", "oph_createcontainer", ["container=@name", "dim=x"], after("ask"))
    number = submit(workflow(ask, make, exec_mode="async")).reply.jobid.split("?")[1].split("#")[0]
    line = f"oph_input id={number};taskname=ask;action={action};key=name;value=answered"
    given = answer_when_waiting(shell, line)
    assert given.ok, given.message
    assert [obj["objkey"] for obj in given.reply.document.objects] == ["status"]  # as Ophidia
    watched = shell.run_line("watch")
    if action == "continue":
        assert statuses(watched) == {"ask": "COMPLETED", "make": "COMPLETED"}
        assert run("oph_containerschema container=answered")
    else:
        assert statuses(watched) == {"ask": "ERROR", "make": "ABORTED"}
        assert "aborted by oph_input" in watched.message
    nobody = shell.run_line(f"oph_input id={number};taskname=ask")
    assert not nobody.ok and f"no task 'ask' of workflow {number} is waiting" in nobody.message
