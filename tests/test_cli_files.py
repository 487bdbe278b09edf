"""Commands that write results take "-" for standard output (and read "-" as standard input), Unix style:
standard output then holds only the results; the summary goes to standard error."""

from __future__ import annotations

import pytest

SERIES = "timestamp,value\n2026-01-01 00:00:00,1\n2026-01-01 00:05:00,2\n2026-01-01 00:10:00,40\n"
INTERACTIONS = "1\t10\t3\n1\t11\t1\n2\t10\t2\n2\t12\t5\n3\t11\t1\n3\t12\t2\n"


@pytest.mark.parametrize(("args", "stdin", "header", "rows"), [
    (["detect", "--input", "-", "--output", "-"], SERIES, "timestamp,value,anomaly_score,alert", 3),
    (["feed", "batch", "--interactions", "{tsv}", "--output", "-", "--k", "1", "--model", "popularity"], None,
     "user\titem\trank", 3),
])
def test_results_go_to_standard_output_and_the_summary_to_standard_error(run_cli, tmp_path, args, stdin, header,
                                                                         rows):
    tsv = tmp_path / "interactions.tsv"
    tsv.write_text(INTERACTIONS)
    done = run_cli(*[a.replace("{tsv}", str(tsv)) for a in args], input=stdin, cwd=tmp_path)  # a file "-" would land here
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == header and len(lines) == rows + 1, done.stdout
    assert "standard output" in done.stderr
    assert not list(tmp_path.glob("-")) and not (tmp_path.parent / "-").exists()


def test_a_missing_input_or_a_folder_says_so_in_one_line(run_cli, tmp_path):
    for path, problem in ((tmp_path / "missing.csv", "does not exist"), (tmp_path, "is a folder")):
        done = run_cli("detect", "--input", str(path), "--output", "-")
        assert done.returncode == 1 and done.stderr.strip().splitlines() == [
            f"error: --input: {path} {problem} — pass a CSV file with a timestamp,value header, or - for standard "
            "input"], done.stderr


@pytest.mark.parametrize("args, says", [
    (["kb", "search", "warranty", "-k", "0"], "error: Invalid value for '--k' / '-k': 0 is not in the range x>=1 — "
                                               "see `townsquare kb search --help`"),
    (["quarantine", "show", "abc"], "error: Invalid value for 'record_id': 'abc' is not a valid int — see"),
    (["nosuchcommand"], "error: No such command 'nosuchcommand' — see `townsquare --help`"),
])
def test_a_bad_flag_value_is_one_line_naming_the_flag_not_a_box(run_cli, args, says):
    r = run_cli(*args)
    assert r.returncode == 2 and r.stderr.startswith(says) and r.stderr.count("\n") == 1, r.stderr
