"""What ``ophsh -e`` loads to start: a command that needs no numbers loads no numeric library,
and the merged specifications come from the cache once made."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ophsh.spec import grammar_dir, load_specs

# Runs ophsh's command line in this process, then prints the heavy libraries it imported.
PROBE = """
import sys
from ophsh.cli import main
code = main(sys.argv[1:])
heavy = ("numpy", "astropy", "netCDF4", "cftime", "PIL", "prompt_toolkit", "pygments", "tomllib")
print("loaded:", " ".join(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def loaded(*args: str, cwd: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("loaded:"))
    return set(line.split()[1:])


def test_listing_the_store_loads_no_numeric_library(tmp_path):
    loaded("-q", "-e", "oph_createcontainer container=c;dim=x|y", cwd=tmp_path)
    assert loaded("-q", "-e", "oph_list level=2", cwd=tmp_path) == set()


def test_an_operator_that_computes_loads_numpy_when_it_runs(tmp_path):
    made = loaded("-q", "-e", "oph_createcontainer container=c;dim=x|y", cwd=tmp_path)
    assert "numpy" not in made
    randcube = "oph_randcube container=c;dim=x|y;dim_size=4|3;exp_ndim=1;nfrag=1;ntuple=4"
    assert "numpy" in loaded("-q", "-e", f"{randcube};measure=m;measure_type=double", cwd=tmp_path)


def test_the_cached_specifications_are_the_ones_the_files_give(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = load_specs.__wrapped__()  # no cache yet: read from the files, then kept
    assert len(list((tmp_path / "cache" / "ophsh").glob("specs-*.pickle"))) == 1
    again = load_specs.__wrapped__()  # from the cache
    assert again == made and again is not made
    assert "quantile" in again.operators["oph_reduce2"].param("operation").values
    assert again.operators.keys() == made.operators.keys() and len(made.operators) > 50


def test_a_changed_grammar_file_makes_the_specifications_again(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    grammar = tmp_path / "grammar"
    subprocess.run(["cp", "-r", str(grammar_dir()), str(grammar)], check=True)
    before = load_specs.__wrapped__(grammar)
    aliases = grammar / "aliases.toml"
    aliases.write_text(aliases.read_text() + '\n[zz_new]\nbody = "oph_list level=2"\n')
    os.utime(aliases, ns=(0, 10**18))  # a different time, whatever the clock's resolution
    after = load_specs.__wrapped__(grammar)
    assert "zz_new" in after.aliases and "zz_new" not in before.aliases
