import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medlens.cli.app import app

runner = CliRunner()


@pytest.fixture()
def notes(tmp_path: Path) -> Path:
    d = tmp_path / "notes"
    d.mkdir()
    (d / "a.txt").write_text("HPI: denies chest pain. History of MI.\n")
    (d / "b.txt").write_bytes(b"\x00\x01binary")
    (d / "c.txt").write_text("PLAN: start metformin.\n")
    return d


def test_cli_analyze_folder_jsonl_reports_bad_files_and_goes_on(notes: Path, tiny_kg_path: Path, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["analyze", str(notes), "--kg", str(tiny_kg_path), "-o", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a.txt", "b.txt", "c.txt"]
    assert "binary" in rows[1]["error"]["message"]
    a = {e["text"]: e for e in rows[0]["entities"]}
    assert a["chest pain"]["assertion"]["negated"] is True
    assert a["MI"]["assertion"]["historical"] is True
    assert a["MI"]["concepts"][0]["id"] == "T:D004"


def test_cli_analyze_resume_skips_finished_documents(notes: Path, tiny_kg_path: Path, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    # a previous run finished a.txt and was cut off in the middle of writing b.txt
    first = runner.invoke(app, ["analyze", str(notes / "a.txt"), "--kg", str(tiny_kg_path), "-o", str(out)])
    assert first.exit_code == 0, first.output
    with out.open("a") as fh:
        fh.write('{"id": "b.txt", "entit')
    result = runner.invoke(app, ["analyze", str(notes), "--kg", str(tiny_kg_path), "-o", str(out), "--resume", "-j", "1"])
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == ["a.txt", "b.txt", "c.txt"]


def test_cli_analyze_stdin_json(tiny_kg_path: Path):
    result = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "-f", "json"], input="No fever. Rule out pneumonia.\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["id"] == "stdin"
    status = {e["text"]: e["assertion"]["status"] for e in data["entities"]}
    assert status == {"fever": "negated", "pneumonia": "uncertain"}


def test_cli_analyze_report_is_readable(tiny_kg_path: Path, notes: Path):
    result = runner.invoke(app, ["analyze", str(notes / "a.txt"), "--kg", str(tiny_kg_path)])
    assert result.exit_code == 0, result.output
    assert "chest pain" in result.stdout and "negated" in result.stdout and "T:D004" in result.stdout


def test_cli_analyze_missing_graph_and_missing_input_fail_clearly(tmp_path: Path, tiny_kg_path: Path):
    r = runner.invoke(app, ["analyze", str(tmp_path), "--kg", str(tmp_path / "none.sqlite")])
    assert r.exit_code == 2 and "medlens kg build" in r.output
    r = runner.invoke(app, ["analyze", str(tmp_path / "nothing_here"), "--kg", str(tiny_kg_path), "-f", "jsonl"])
    assert r.exit_code == 2 and "no such file" in r.output
    r = runner.invoke(app, ["analyze", str(tmp_path), "--kg", str(tiny_kg_path), "--resume"])
    assert r.exit_code == 2 and "--resume needs --output" in r.output


def test_cli_analyze_uses_worker_processes(tmp_path: Path, tiny_kg_path: Path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(40):
        (d / f"{i:03d}.txt").write_text(f"Note {i}: denies fever. Aspirin daily.\n")
    out = tmp_path / "many.jsonl"
    r = runner.invoke(app, ["analyze", str(d), "--kg", str(tiny_kg_path), "-o", str(out), "-j", "2"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [f"{i:03d}.txt" for i in range(40)]
    assert all([e["text"] for e in r["entities"]] == ["fever", "Aspirin"] for r in rows)


def test_cli_analyze_stdin_with_control_character_fails_clearly(tiny_kg_path: Path):
    result = runner.invoke(app, ["analyze", "-", "--kg", str(tiny_kg_path), "-f", "json"], input="Fever \x07 cough.\n")
    assert "stdin: character 7 (line 1, column 7) is U+0007" in result.output
    assert "Traceback" not in result.output
