"""``screening register add`` on broken files: it reads them with screening.inputs, so an
unclosed quote, a lone surrogate or a repeated column costs a row (or refuses the file), never
the counterparties after it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from screening.cli import ExitCode, app
from screening.config import load_settings
from screening.register import Register, read_register_rows
from screening.screener import BatchRow, RejectedRow

runner = CliRunner()


def test_register_add_with_an_unclosed_quote_stores_every_other_counterparty(
    indexed_home: Path, copy_home: Callable[[Path], Path], tmp_path: Path
) -> None:
    copy_home(indexed_home)
    path = tmp_path / "u.csv"
    path.write_text(
        'id,name,country\n1,"Acme Ltd,TR\n2,Kral Aviation,TR\n3,Rosoboronexport,RU\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["register", "add", str(path)])
    assert result.exit_code == ExitCode.REVIEW, result.output
    assert "rejected: line 2 (id '1'): unclosed quote: " in result.stderr
    with Register.open(load_settings()) as reg:
        stored = {c.id: c.name for c in reg.counterparties()}
    assert stored == {"2": "Kral Aviation", "3": "Rosoboronexport"}


def test_register_rows_with_lone_surrogates_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(
        '{"id": "c1", "name": "Bad \\ud800 name"}\n'
        '{"id": "c2", "name": "Sberbank", "note": "\\udc00"}\n'
        '{"id": "c3\\ud800", "name": "Sberbank"}\n'
        '{"id": "c4", "name": "Sberbank"}\n',
        encoding="utf-8",
    )
    rows = list(read_register_rows(path))
    assert [(r.id, r.line) for r in rows if isinstance(r, RejectedRow)] == [
        ("c1", 1),
        ("c2", 2),
        ("c3\ufffd", 3),
    ]
    assert [r.id for r in rows if isinstance(r, BatchRow)] == ["c4"]


def test_register_add_refuses_a_repeated_id_column(
    indexed_home: Path, copy_home: Callable[[Path], Path], tmp_path: Path
) -> None:
    copy_home(indexed_home)
    path = tmp_path / "dup.csv"
    path.write_text("id,name,ID\nc1,Sberbank,c2\n", encoding="utf-8")
    result = runner.invoke(app, ["register", "add", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert "the header has the 'id' column more than once" in result.stderr
