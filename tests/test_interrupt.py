"""Ctrl-C during a massive operation: what was made is kept and said to be kept, so that the
user knows what a second run would add again."""

from __future__ import annotations

import shutil


def test_an_interrupted_massive_import_says_what_it_kept(shell, run, night, tmp_path):
    shutil.copytree(night, tmp_path / "data" / "raw")
    total = len(list(night.glob("*.fits")))
    run("oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int")

    def stop_after_three(label: str, done: int, all_: int) -> None:
        if label == "importfits" and done == 3:
            shell.backend.interrupt()  # what Ctrl-C does in the interactive shell

    shell.progress = stop_after_three
    outcome = shell.run_line("oph_importfits src_path=[path=raw;file=*.fits];container=c")
    shell.progress = None
    assert not outcome.ok
    kept = run("oph_list level=2").reply.document.grid("list").column("DATACUBE PID")
    kept = [pid for pid in kept if pid]
    assert len(kept) >= 3 and len(kept) < total  # workers may finish the file they hold
    assert outcome.message.startswith(f"interrupted after {len(kept)} of {total} task(s)")
    assert f"the {len(kept)} cube(s) made are kept" in outcome.message
    listed = outcome.reply.document.grid("massive_list").column("OUTPUT")
    assert sorted(p for p in listed if p) == sorted(kept)
