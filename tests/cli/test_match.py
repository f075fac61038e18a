"""check, batch, compare through the CLI (Typer's CliRunner), on the seed snapshots."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from screening.cli import app

KRAL = "642e3dd75e5b5e79cb71246c58e18eed7db51aba36595344322396f8"
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_check_finds_a_listed_party_and_explains_it(screened_home: Path) -> None:
    code, out, err = run("check", "Kral Aviation Ltd Sti", "--country", "TR")
    assert code == 1  # potential match
    assert KRAL in out
    assert "why: exact" in out
    assert "lists: " in out and "seed STALE" in out
    assert "seed snapshots" in err  # the stale warning
    assert "Traceback" not in out + err


def test_check_without_hits_exits_0(screened_home: Path) -> None:
    code, out, _ = run("check", "Anadolu Elektronik Sanayi ve Ticaret A.Ş.", "--country", "TR")
    assert code == 0
    assert "0 potential match" in out


def test_check_json_names_hits_and_snapshots(screened_home: Path) -> None:
    code, out, _ = run("check", "Рособоронэкспорт", "--country", "RU", "--json")
    assert code == 1
    doc = json.loads(out)
    hit = doc["hits"][0]
    assert (hit["source"], hit["entry_id"]) == ("ofac_sdn", "18782")
    assert hit["explanation"]["query_normalized"] == "rosoboroneksport"
    assert {s["source"] for s in doc["snapshots"]} >= {"ofac_sdn", "bis_entity_list"}
    assert all(s["stale"] for s in doc["snapshots"])


@pytest.mark.parametrize(
    "args", [["check", ""], ["check", "x" * 5000], ["check", "Acme", "--threshold", "0"]]
)
def test_check_bad_input_is_one_line_and_exit_2(screened_home: Path, args: list[str]) -> None:
    code, out, err = run(*args)
    assert code == 2
    assert "Traceback" not in out + err


def test_compare_explains_the_score(screened_home: Path) -> None:
    code, out, _ = run("compare", "Sergei Shoigu", "SHOYGU, Sergey Kuzhugetovich")
    assert code == 1
    assert out.startswith("0.9")
    assert "MATCH" in out
    assert "kuzhugetovich (middle name)" in out
    code, out, _ = run("compare", "Sergei Shoigu", "Sergei Lavrov", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["match"] is False and doc["score"] < 0.85


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


SAMPLE = (
    "id,name,country,type,extra\n"
    "a1,Рособоронэкспорт,RU,organization,keep me\n"
    "a2,Müller Maschinenbau GmbH,DE,organization,\n"
    "a3,,TR,,empty name\n"
    "a4,Kral Aviation Ltd Sti,Türkiye,,\n"
)


def test_batch_jsonl_contract(screened_home: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", SAMPLE)
    code, out, err = run("batch", str(src))
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in lines] == ["a1", "a2", "a3", "a4"]  # input order
    assert lines[0]["hits"][0]["source"] == "ofac_sdn"
    assert lines[0]["hits"][0]["entry_id"] == "18782"
    for key in ("matched_name", "score", "list_name", "programs"):
        assert key in lines[0]["hits"][0]
    assert lines[1]["hits"] == []
    assert "error" in lines[2] and "name is empty" in lines[2]["error"]
    assert lines[3]["hits"][0]["entry_id"] == KRAL
    assert lines[0]["snapshots"]["ofac_sdn"] >= 1
    assert "4 rows: 2 with potential matches, 1 rejected" in err


def test_batch_csv_keeps_input_columns_and_is_spreadsheet_safe(
    screened_home: Path, tmp_path: Path
) -> None:
    src = write(tmp_path / "in.csv", SAMPLE + 'a5,=HYPERLINK("http://x"),,,\n')
    out_file = tmp_path / "out.csv"
    code, _, _ = run("batch", str(src), "--output", str(out_file))
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out_file.read_text(encoding="utf-8"))))
    assert rows[0]["extra"] == "keep me"
    assert rows[0]["entry_id"] == "18782"
    assert next(r for r in rows if r["id"] == "a5")["name"].startswith("'=")


def test_batch_jsonl_input_and_row_numbers_as_ids(screened_home: Path, tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.jsonl",
        '{"name": "Sergei Shoigu", "type": "person"}\nnot json\n{"name": "Acme Widgets"}\n',
    )
    code, out, _ = run("batch", str(src), "--format", "jsonl")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in lines] == ["1", "2", "3"]
    assert lines[0]["hits"][0]["entry_id"] == "35173"
    assert "not JSON" in lines[1]["error"]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_batch_reads_common_encodings(screened_home: Path, tmp_path: Path, encoding: str) -> None:
    text = "id,name\nx1,Kral Aviation Ltd Sti\nx2,Müller Maschinenbau GmbH\n"
    src = write(tmp_path / "in.csv", text, encoding)
    code, out, _ = run("batch", str(src))
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["hits"][0]["entry_id"] == KRAL
    assert lines[1]["name"] == "Müller Maschinenbau GmbH"


@pytest.mark.parametrize(
    ("content", "message"),
    [("id,company\n1,Acme\n", "no 'name' column"), ("", "empty file")],
)
def test_batch_unusable_file_is_one_line_exit_2(
    screened_home: Path, tmp_path: Path, content: str, message: str
) -> None:
    src = write(tmp_path / "in.csv", content)
    code, out, err = run("batch", str(src))
    assert code == 2
    assert message in err
    assert out == ""


def test_batch_never_writes_over_its_input(screened_home: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", "id,name\n1,Kral Aviation\n")
    before = src.read_bytes()
    for out in (str(src), str(tmp_path / "." / "in.csv")):
        code, _, err = run("batch", str(src), "--output", out)
        assert code == 2 and "would overwrite the input" in err
    assert src.read_bytes() == before


def test_shipment_output_is_checked_before_screening(screened_home: Path, tmp_path: Path) -> None:
    from support import SEEDS

    src = SEEDS / "samples" / "shipments.json"
    cases = [
        (tmp_path / "missing-dir" / "out.jsonl", "cannot write: No such file or directory"),
        (tmp_path / "out.csv", "written as JSON Lines; name the file .jsonl"),
        (src, "would overwrite the input"),
    ]
    for out, message in cases:
        code, stdout, err = run("shipment", str(src), "--output", str(out))
        assert code == 2 and message in err and stdout == "", (out, err)
        assert ".tmp" not in err
    assert not list(tmp_path.glob(".*.tmp"))


def test_batch_missing_file(screened_home: Path, tmp_path: Path) -> None:
    code, _, err = run("batch", str(tmp_path / "nope.csv"))
    assert code == 2
    assert "no such file" in err


def test_batch_with_workers_gives_the_same_results_in_order(
    screened_home: Path, tmp_path: Path
) -> None:
    names = ["Kral Aviation", "Acme Widgets", "Sergei Shoigu", "Рособоронэкспорт"] * 30
    src = write(tmp_path / "in.csv", "name\n" + "\n".join(names) + "\n")
    _, one, _ = run("batch", str(src), "--workers", "1")
    _, two, _ = run("batch", str(src), "--workers", "2")
    assert one == two
    assert [json.loads(line)["id"] for line in two.splitlines()] == [str(i) for i in range(1, 121)]


def test_batch_text_format(screened_home: Path, tmp_path: Path) -> None:
    src = write(tmp_path / "in.csv", SAMPLE)
    code, out, _ = run("batch", str(src), "--format", "text")
    assert code == 1
    assert "ROSOBORONEKSPORT OAO" in out
    assert "no match" in out
    assert "REJECTED" in out
