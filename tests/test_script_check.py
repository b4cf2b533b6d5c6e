"""Scripts are checked whole before their first line runs; re-runs and '-' lines."""

from __future__ import annotations

from conftest import SCRIPTS, ophsh
from factories import raw_frame, write_fits


def write(path, text):
    path.write_text(text)
    return path


def frames(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "a.fits", data, **cards)
    write_fits(tmp_path / "raw" / "b.fits", data, **cards)


def test_a_typo_late_in_a_script_is_found_before_anything_is_imported(tmp_path):
    frames(tmp_path)
    script = write(
        tmp_path / "late.oph",
        "oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int\n"
        "oph_importfits src_path=[path=raw;file=*.fits];container=night\n"
        "setenv frame:=$OPH_DATACUBE\n"
        "oph_metadata cube=$frame;mode=read\n"
        "oph_reduce operation=avgg\n"
        "oph_metadata cube=$frame;metadata_kee=FLT_ID\n"
        "oph_exportfits output_path=$1\n",
    )
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 8
    err = result.stderr
    assert f"{script}:5:" in err and "avgg" in err  # a value out of the allowed ones
    assert f"{script}:6:" in err and "metadata_kee" in err  # a name, beside a variable
    assert f"{script}:7:" in err and "$1" in err  # an argument that was not given
    assert "nothing was run" in err
    assert "night" not in ophsh("-e", "ls", cwd=tmp_path).stdout


def test_an_unknown_command_in_a_script_is_found_first(tmp_path):
    script = write(
        tmp_path / "s.oph", "mkdir made\nfrobnicate now\noph importfits src path=raw/a.fits\n"
    )
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 3 and f"{script}:2: unknown command" in result.stderr
    assert "did you mean: oph_importfits src_path=raw/a.fits" in result.stderr
    assert "made" not in ophsh("-e", "ls", cwd=tmp_path).stdout


def test_lines_with_variables_set_by_the_script_run(tmp_path):
    frames(tmp_path)
    script = write(
        tmp_path / "ok.oph",
        "oph_createcontainer container=night;dim=NAXIS2|NAXIS1;dim_type=int|int\n"
        "oph_importfits src_path=raw/a.fits;container=night\n"
        "setenv frame:=$OPH_DATACUBE\n"
        "setenv key=FLT_ID\n"
        "oph_metadata cube=$frame;metadata_key=$key\n",
    )
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OPEN" in result.stdout


def test_an_alias_set_in_a_script_keeps_its_own_arguments(tmp_path):
    script = write(
        tmp_path / "alias.oph",
        "setalias mk=oph_folder command=mkdir;path=$1;\nmk from_alias\nmk $1\n",
    )
    result = ophsh(str(script), "from_script", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listing = ophsh("-e", "ls", cwd=tmp_path).stdout
    assert "from_alias" in listing and "from_script" in listing


def test_a_line_starting_with_a_dash_may_fail(tmp_path):
    script = write(tmp_path / "again.oph", "-oph_deletecontainer container=none\nmkdir after\n")
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "after" in ophsh("-e", "ls", cwd=tmp_path).stdout


def test_a_container_that_exists_says_how_to_start_again(tmp_path):
    ophsh("-e", "oph_createcontainer container=night;dim=x", cwd=tmp_path)
    result = ophsh("-e", "oph_createcontainer container=night;dim=x", cwd=tmp_path)
    assert result.returncode == 1
    assert "oph_deletecontainer container=night;force=yes" in result.stderr


def test_calibrate_runs_again_on_the_same_store(night, tmp_path):
    def calibrate():
        return ophsh(
            "-q",
            "--store",
            str(tmp_path / "store"),
            str(SCRIPTS / "calibrate.oph"),
            str(night),
            str(tmp_path / "out"),
            cwd=tmp_path,
        )

    first = calibrate()
    assert first.returncode == 0, first.stderr
    again = calibrate()
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "calibrated_R_JOHN_12.fits").exists()


def test_merging_frames_and_their_products_says_level_0_fixes_it(night, tmp_path):
    def run(line):
        return ophsh("-e", line, cwd=tmp_path)

    assert run("oph_createcontainer container=n;dim=NAXIS2|NAXIS1;dim_type=int|int").returncode == 0
    flats = f"src_path=[path={night};file=*.fits];container=n;exp_dim=NAXIS2;imp_dim=NAXIS1"
    assert run(f"oph_importfits {flats}").returncode == 0
    pick = "cubes=[container=n;metadata_key=OBS_TYPE|FLT_ID;metadata_value=FLAT|B_JOHN_10]"
    assert run(f"oph_mergecubes2 {pick};dim=z").returncode == 0
    assert run("oph_reduce2 operation=quantile;order=0.5;dim=z").returncode == 0
    again = run(f"oph_mergecubes2 {pick};dim=z")  # now the median matches the filter too
    assert again.returncode == 1 and "add level=0" in again.stderr


def test_a_wrapped_command_that_lost_its_underscores_is_read_whole(tmp_path):
    script = write(
        tmp_path / "pdf.oph",
        "oph importfits src path=[path=raw;\n"
        "file=a.fits];measure=mymeasure;\n"
        "exp dim=NAXIS1;imp dim=NAXIS2;container=FITS2\n",
    )
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 3
    assert (
        "did you mean: oph_importfits src_path=[path=raw;file=a.fits];measure=mymeasure;"
        "exp_dim=NAXIS1;imp_dim=NAXIS2;container=FITS2" in result.stderr
    )
    assert f"{script}:3" not in result.stderr  # the third line is part of the command
