"""medlens.ask (pydantic Answer) and the `medlens ask` / `medlens index` commands, including bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import medlens
from medlens.cli.app import app
from medlens.errors import InputError
from medlens.qa.models import Answer


def test_api_graph_question_returns_answer(qa_kg_path):
    a = medlens.ask("what are the symptoms of Marfan syndrome?", kg_path=qa_kg_path)
    assert isinstance(a, Answer) and a.kind == "graph"
    assert a.answers[0].id == "HP:0001166"
    assert Answer.model_validate_json(a.model_dump_json()) == a


def test_api_docs_folder_indexed_on_the_fly(docs_folder):
    a = medlens.ask("what was the potassium on admission?", docs=docs_folder)
    assert a.kind == "documents"
    assert a.answers[0].evidence[0].doc_id == "renal/note2.txt"
    assert a.answers[0].evidence[0].start == 0


@pytest.mark.parametrize("question, match", [("", "empty"), ("   ", "empty"), ("x" * 1001, "limit is 1000"),
                                             (None, "must be a str")])
def test_api_bad_question(question, match, qa_kg_path):
    with pytest.raises(InputError, match=match):
        medlens.ask(question, kg_path=qa_kg_path)


def test_api_bad_context_and_docs(tmp_path, qa_kg_path):
    with pytest.raises(InputError, match="context is empty"):
        medlens.ask("does it work?", context="  ")
    with pytest.raises(InputError, match="not both"):
        medlens.ask("does it work?", context="text", docs=tmp_path)
    with pytest.raises(InputError, match="no document index"):
        medlens.ask("does it work?", docs=tmp_path / "nope")


def test_api_research_question_uses_the_research_model():
    pytest.importorskip("medlens.qa.research")
    a = medlens.ask("Do statins reduce mortality?", context="Statins reduced mortality by 30% in this trial. "
                                                            "The effect was significant.")
    assert a.kind == "research" and a.research.label in ("yes", "no", "maybe")


runner = CliRunner()


def test_cli_ask_graph_json_and_text(qa_kg_path):
    r = runner.invoke(app, ["ask", "what is hyperkalemia?", "--kg", str(qa_kg_path), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["intent"] == "definition" and data["answers"][0]["id"] == "HP:0002153"
    r = runner.invoke(app, ["ask", "what is hyperkalemia?", "--kg", str(qa_kg_path)])
    assert r.exit_code == 0 and "HP:0002153" in r.stdout and "potassium concentration" in r.stdout


def test_cli_ask_no_answer_says_what_was_searched(qa_kg_path):
    r = runner.invoke(app, ["ask", "which drugs can induce hyperkalemia?", "--kg", str(qa_kg_path)])
    assert r.exit_code == 0
    assert "learned relation layer" in r.stdout and "searched:" in r.stdout


def test_cli_index_build_update_and_ask(docs_folder, tmp_path):
    out = tmp_path / "idx"
    r = runner.invoke(app, ["index", "build", str(docs_folder), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "3 documents" in r.stderr and "added 3" in r.stderr
    (docs_folder / "more.txt").write_text("Metformin was held before the CT scan.", encoding="utf-8")
    r = runner.invoke(app, ["index", "update", str(out)])
    assert r.exit_code == 0 and "added 1" in r.stderr and "unchanged 3" in r.stderr
    r = runner.invoke(app, ["ask", "why was metformin held?", "--docs", str(out), "--json", "-n", "2"])
    data = json.loads(r.stdout)
    assert data["kind"] == "documents" and data["answers"][0]["evidence"][0]["doc_id"] == "more.txt"
    assert 1 <= len(data["answers"]) <= 2


def test_cli_errors(tmp_path):
    r = runner.invoke(app, ["ask", "  "])
    assert r.exit_code == 2 and "question is empty" in r.stderr
    r = runner.invoke(app, ["ask", "what?", "--docs", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no document index" in r.stderr
    r = runner.invoke(app, ["index", "info", str(tmp_path)])
    assert r.exit_code == 2 and "medlens-index.json" in r.stderr
