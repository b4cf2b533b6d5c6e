"""The ophsh command line, run as a real process: -e, -j, scripts, stdin, exit codes."""

from __future__ import annotations

import json

from conftest import ophsh
from factories import raw_frame, write_fits


def test_execute_one_command(tmp_path):
    result = ophsh("-e", "oph_createcontainer container=c;dim=x", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Output Container" in result.stdout


def test_json_output_is_oph_terms_envelope(tmp_path):
    result = ophsh("-j", "-e", "oph_list level=2", cwd=tmp_path)
    assert result.returncode == 0
    envelope = json.loads(result.stdout)
    assert set(envelope) == {"request", "jobid", "response", "stdout", "stderr"}
    assert envelope["request"].startswith("oph_list level=2;")
    assert "?" in envelope["jobid"] and "#" in envelope["jobid"]
    assert envelope["response"]["response"][0]["objkey"] == "list"


def test_json_of_a_builtin_puts_its_text_in_stdout(tmp_path):
    envelope = json.loads(ophsh("-j", "-e", "pdd", cwd=tmp_path).stdout)
    assert envelope["stdout"] == str(tmp_path) and envelope["response"] == {}


def test_errors_give_one_line_and_the_right_exit_code(tmp_path):
    result = ophsh("-e", "oph_lisst level=2", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "Error: unknown command or operator 'oph_lisst' (did you mean oph_list?)"
    ]
    result = ophsh("-e", "oph_list level=12", cwd=tmp_path)
    assert result.returncode == 8 and "at most 8" in result.stderr
    result = ophsh("-e", "oph_deletecontainer container=none", cwd=tmp_path)
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_a_second_process_sees_what_the_first_left(tmp_path):
    assert ophsh("-e", "oph_createcontainer container=kept;dim=x", cwd=tmp_path).returncode == 0
    listing = ophsh("-e", "ls", cwd=tmp_path).stdout
    assert "kept" in listing


def test_store_option_and_variable_choose_the_store(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ophsh("--store", str(a), "-e", "oph_createcontainer container=in_a;dim=x", cwd=tmp_path)
    assert "in_a" in ophsh("-e", "ls", env={"OPHSH_STORE": str(a)}, cwd=tmp_path).stdout
    assert "in_a" not in ophsh("--store", str(b), "-e", "ls", cwd=tmp_path).stdout


def test_a_store_path_that_is_not_a_store_is_refused(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    result = ophsh("--store", str(tmp_path / "notes"), "-e", "ls", cwd=tmp_path)
    assert result.returncode != 0 and "not an ophsh store" in result.stderr


def write_script(path, text):
    path.write_text(text)
    return path


def test_script_with_arguments_runs_every_line(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "a.fits", data, **cards)
    script = write_script(
        tmp_path / "s.oph",
        """
# import one frame given as $1 into container $2
oph_createcontainer container=$2;dim=NAXIS2|NAXIS1;dim_type=int|int;
oph_importfits src_path=$1;container=$2
setenv frame:=$OPH_DATACUBE
oph_metadata cube=$frame;metadata_key=FLT_ID
""",
    )
    result = ophsh(str(script), "raw/a.fits", "night", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "OPEN" in result.stdout


def test_script_stops_at_the_first_failure_and_names_file_and_line(tmp_path):
    script = write_script(tmp_path / "bad.oph", "ls\n\noph_list level=99\nmkdir never\n")
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 8
    assert f"{script}:3:" in result.stderr and "at most 8" in result.stderr
    assert "never" not in ophsh("-e", "ls", cwd=tmp_path).stdout


def test_keep_going_runs_the_rest_and_still_fails(tmp_path):
    script = write_script(tmp_path / "bad.oph", "oph_list level=99\nmkdir after\n")
    result = ophsh("--keep-going", str(script), cwd=tmp_path)
    assert result.returncode == 8
    assert "after" in ophsh("-e", "ls", cwd=tmp_path).stdout


def test_a_missing_script_argument_is_reported(tmp_path):
    script = write_script(tmp_path / "args.oph", "mkdir $1\nmkdir $2\n")
    result = ophsh(str(script), "only_one", cwd=tmp_path)
    assert result.returncode == 8 and "args.oph:2: line 2 uses $2" in result.stderr


def test_a_missing_script_file(tmp_path):
    result = ophsh("nowhere.oph", cwd=tmp_path)
    assert result.returncode != 0 and "no such script" in result.stderr


def test_commands_on_stdin_run_like_a_script(tmp_path):
    result = ophsh(input="mkdir piped\nls\n", cwd=tmp_path)
    assert result.returncode == 0 and "piped/" in result.stdout


def test_wrapped_commands_continue_on_the_next_lines(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "LRS.fits", data, **cards)
    script = write_script(
        tmp_path / "wrapped.oph",
        (
            "oph_createcontainer container=FITS2;dim=NAXIS2|NAXIS1;dim_type=int|int;\n"
            f"oph_importfits src_path=[path={tmp_path}/raw;\n"
            "file=LRS.fits];measure=mymeasure;\n"
            "exp_dim=NAXIS1;imp_dim=NAXIS2;container=FITS2\n"
            "ll\n"
        ),
    )
    result = ophsh(str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "FITS2" in result.stdout and "http://localhost/ophidia/" in result.stdout


def test_a_file_pattern_that_matches_nothing_fails_and_says_where_it_looked(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "a.fits", data, **cards)
    result = ophsh("-e", f"oph_importfits src_path=[path={tmp_path}/raw;file=*.fitz]", cwd=tmp_path)
    assert result.returncode == 1
    assert "no file matches file=*.fitz" in result.stderr
    assert f"{tmp_path}/raw" in result.stderr and "*.fits" in result.stderr


def test_setenv_variables_are_kept_with_the_store(tmp_path):
    assert ophsh("-e", "setenv night=/data/2016-06-06", cwd=tmp_path).returncode == 0
    assert ophsh("-e", "setenv OPH_TERM_FORMAT=compact", cwd=tmp_path).returncode == 0
    assert ophsh("-e", "getenv night", cwd=tmp_path).stdout.strip() == "/data/2016-06-06"
    assert "OPH_TERM_FORMAT=compact" in ophsh("-e", "env", cwd=tmp_path).stdout
    ophsh("-e", "unsetenv night", cwd=tmp_path)
    assert "variable night not found" in ophsh("-e", "getenv night", cwd=tmp_path).stderr
    other = ophsh("--store", str(tmp_path / "other"), "-e", "env", cwd=tmp_path).stdout
    assert "OPH_TERM_FORMAT=classic" in other  # another store starts afresh
    assert "kept with the store" in ophsh("-e", "help setenv", cwd=tmp_path).stdout


def test_whole_numbers_in_a_real_measure_are_shown_as_integers(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "raw" / "a.fits", data, **cards)
    for line in (
        "oph_createcontainer container=n;dim=NAXIS2|NAXIS1;dim_type=int|int",
        "oph_importfits src_path=raw/a.fits;container=n",
        "oph_reduce operation=max",  # a double measure holding ADU counts
    ):
        assert ophsh("-e", line, cwd=tmp_path).returncode == 0
    shown = ophsh("-e", "oph_explorecube", cwd=tmp_path).stdout
    assert f" {int(data[0].max())} " in shown and ".0000000000" not in shown
    # the response itself stays as Ophidia writes doubles, for programs reading -j
    wire = json.loads(ophsh("-j", "-e", "oph_explorecube", cwd=tmp_path).stdout)
    assert f"{int(data[0].max())}.0000000000" in json.dumps(wire["response"])


def test_man_pages_keep_bracketed_text(tmp_path):
    page = ophsh("-e", "man oph_importfits", cwd=tmp_path).stdout
    assert "file to read, or [path=DIR;file=PATTERN] for many" in page


def test_a_truncated_fits_is_refused_in_one_line(tmp_path):
    data, cards = raw_frame()
    write_fits(tmp_path / "full.fits", data, **cards)
    whole = (tmp_path / "full.fits").read_bytes()
    (tmp_path / "cut.fits").write_bytes(whole[: len(whole) - 2000])
    ophsh("-e", "oph_createcontainer container=c;dim=NAXIS2|NAXIS1;dim_type=int|int", cwd=tmp_path)
    result = ophsh("-e", "oph_importfits src_path=cut.fits;container=c", cwd=tmp_path)
    assert result.returncode != 0 and result.stderr.count("truncated") == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_picture_of_a_stack_says_how_to_pick_a_plane(tmp_path):
    for line in (
        "oph_createcontainer container=c;dim=x|y|z;dim_type=int|int|int",
        "oph_randcube container=c;dim=x|y|z;dim_size=4|3|2;exp_ndim=1;nfrag=1;ntuple=4;"
        "measure=m;measure_type=double",
    ):
        assert ophsh("-e", line, cwd=tmp_path).returncode == 0
    result = ophsh("-e", "show output=stack.png", cwd=tmp_path)
    assert result.returncode != 0 and "3-D (x=4, y=3, z=2)" in result.stderr
    assert "oph_subset subset_dims=z;subset_filter=1" in result.stderr
    assert not (tmp_path / "stack.png").exists()
    assert ophsh("-e", "oph_subset subset_dims=z;subset_filter=1", cwd=tmp_path).returncode == 0
    assert ophsh("-e", "show output=stack.png", cwd=tmp_path).returncode == 0
    assert (tmp_path / "stack.png").exists()


def test_a_picture_is_not_written_into_a_folder_that_does_not_exist(tmp_path):
    ophsh("-e", "oph_createcontainer container=c;dim=x|y;dim_type=int|int", cwd=tmp_path)
    ophsh(
        "-e",
        "oph_randcube container=c;dim=x|y;dim_size=4|3;exp_ndim=1;nfrag=1;ntuple=4;"
        "measure=m;measure_type=double",
        cwd=tmp_path,
    )
    result = ophsh("-e", f"show output={tmp_path}/new/dir/p.png", cwd=tmp_path)
    assert result.returncode == 8 and "does not exist" in result.stderr
    assert not (tmp_path / "new").exists()


def test_oph_term_viewer_dump_prints_the_response_document(tmp_path):
    result = ophsh("-e", "oph_list", env={"OPH_TERM_VIEWER": "dump"}, cwd=tmp_path)
    assert json.loads(result.stdout)["responseKeyset"] == ["list", "status"]
    extended = ophsh("-e", "oph_list", env={"OPH_TERM_VIEWER": "extended"}, cwd=tmp_path)
    assert "[ list ]" in extended.stdout


def test_a_response_larger_than_oph_response_buffer_is_not_shown(tmp_path):
    result = ophsh("-e", "oph_operators_list", env={"OPH_RESPONSE_BUFFER": "1"}, cwd=tmp_path)
    assert "more than OPH_RESPONSE_BUFFER=1 kB" in result.stderr
    assert "OPH_REDUCE2" not in result.stdout
    assert "OPH_REDUCE2" in ophsh("-e", "oph_operators_list", cwd=tmp_path).stdout
