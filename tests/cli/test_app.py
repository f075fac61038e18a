"""The CLI's error discipline as a user meets it: the installed entry point in a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from screening.cli import ExitCode


def _run(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_")}
    if home is not None:
        env["SCREENING_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "screening", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["check", "Kral Aviation", "--threshold", "0"], "Invalid value for '--threshold'"),
        (["batch", "rows.csv", "--workers", "0"], "Invalid value for '--workers'"),
        (["compare", "only one name"], "Missing argument"),
        (["no-such-command"], "No such command"),
        (["check"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], says: str) -> None:
    done = _run(*args)
    assert done.returncode == ExitCode.USAGE
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0], lines
    assert "--help" in lines[0]


def test_help_still_exits_0() -> None:
    done = _run("check", "--help")
    assert done.returncode == 0 and "--threshold" in done.stdout


def test_output_closed_early_is_not_nothing_to_review(screened_home: Path, tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "id,name\n" + "".join(f"{i},Rosoboronexport\n" for i in range(3000)), encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_")}
    env["SCREENING_HOME"] = str(screened_home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "screening", "batch", str(rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert b'"id": "0"' in first or b'"id":"0"' in first
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == ExitCode.OUTPUT_CLOSED
    assert "Traceback" not in err and "Exception ignored" not in err


def test_sigterm_stops_a_command_with_a_line_and_exit_130(
    screened_home: Path, tmp_path: Path
) -> None:
    # `timeout`, a service manager or a cron wrapper ends a long job with SIGTERM: it must say
    # so on stderr and exit 130 (interrupted), not vanish without a word.
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "id,name\n" + "".join(f"{i},Trading Company {i} Limited\n" for i in range(20000)),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_")}
    env["SCREENING_HOME"] = str(screened_home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "screening", "batch", str(rows), "--workers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"{")  # screening has begun
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "interrupted" in err.decode()
    assert "Traceback" not in err.decode()


def test_a_name_in_bytes_that_are_not_utf8_is_refused_not_a_crash(screened_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_")}
    env["SCREENING_HOME"] = str(screened_home)
    done = subprocess.run(
        [sys.executable, "-m", "screening", "check", b"Kral\xffAviation"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE
    expected = "error: name is not valid text (bytes that are not UTF-8)"
    assert done.stderr.decode().strip() == expected


@pytest.mark.parametrize("names", [("!!!", "???"), ("Kral Aviation", "&&&"), ("...", "Kral")])
def test_compare_refuses_a_name_without_letters_like_check(names: tuple[str, str]) -> None:
    done = _run("compare", *names)
    assert done.returncode == ExitCode.USAGE
    assert done.stderr.strip() == "error: name has no letters or digits to compare"


@pytest.mark.parametrize("option", ["--home", "--config"])
def test_an_empty_home_or_config_is_refused_not_the_current_directory(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from screening.cli import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [option, "", "status"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip() == f"error: {option} is empty"
    assert list(tmp_path.iterdir()) == []  # nothing created where the command ran


@pytest.mark.parametrize("command", [["status"], ["check", "Rosneft"], ["refresh"]])
def test_a_home_that_is_a_file_is_named_as_such(tmp_path: Path, command: list[str]) -> None:
    # QA: it said "cannot create the lock file …/refresh.lock: File exists".
    from typer.testing import CliRunner

    from screening.cli import app

    home = tmp_path / "home"
    home.write_text("not a directory\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--home", str(home), *command])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip() == f"error: data directory {home}: not a directory"
    assert home.read_text(encoding="utf-8") == "not a directory\n"


def test_an_output_encoding_that_cannot_show_a_name_gets_escapes_not_a_crash(
    seeded_home: Path,
) -> None:
    # QA: PYTHONIOENCODING=latin-1 crashed (exit 9) after the work was done.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCREENING_")}
    env.update(SCREENING_HOME=str(seeded_home), PYTHONIOENCODING="latin-1")
    proc = subprocess.run(
        [sys.executable, "-m", "screening", "check", "Рособоронэкспорт"],
        capture_output=True,
        env=env,
        check=False,
    )
    assert proc.returncode == ExitCode.REVIEW, proc.stderr
    out = proc.stdout.decode("latin-1")
    assert out.startswith("'\\u0420\\u043e") and "ROSOBORONEKSPORT OAO" in out
