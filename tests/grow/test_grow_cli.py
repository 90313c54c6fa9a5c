"""The commands ``medlens kg grow``, ``kg relations`` and ``kg stats`` on the tiny graph."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from medlens.cli.app import app

runner = CliRunner()


def test_cli_grow_relations_and_stats(kg_copy, corpus):
    r = runner.invoke(app, ["kg", "relations", "T:M003", "--kg", str(kg_copy)])
    assert r.exit_code == 2 and "medlens kg grow" in r.output  # nothing grown yet
    r = runner.invoke(app, ["kg", "grow", str(corpus), "--kg", str(kg_copy), "--no-model", "-j", "1", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert (data["added"], data["skipped"], data["failed"]) == (3, 0, 0)
    assert "medlens_relation_patterns" in data["pipeline"]
    assert data["layer"]["pipeline"] == data["pipeline"]  # recorded in the layer
    r = runner.invoke(app, ["kg", "grow", str(corpus), "--kg", str(kg_copy), "--no-model", "-j", "1"])
    assert r.exit_code == 0 and "0 documents added" in r.output and "3 already counted" in r.output

    r = runner.invoke(app, ["kg", "relations", "T:M001", "--kg", str(kg_copy), "--json"])
    assert r.exit_code == 0, r.output
    edges = json.loads(r.stdout)["edges"]
    assert {(e["predicate"], e["tail_id"]) for e in edges} == {("treats", "T:D001"), ("adverse_event", "T:S005"),
                                                              ("adverse_event", "T:S006")}
    assert all(e["learned"] and e["evidence"] for e in edges)
    ade = next(e for e in edges if e["tail_id"] == "T:S005")
    assert ade["evidence"][0]["sentence"] == "He developed nausea after metformin." and ade["evidence"][0]["doc_id"] == "d1"

    r = runner.invoke(app, ["kg", "relations", "T:M001", "--kg", str(kg_copy), "--predicate", "treats", "--json"])
    assert [e["tail_id"] for e in json.loads(r.stdout)["edges"]] == ["T:D001"]
    r = runner.invoke(app, ["kg", "relations", "T:S005", "--kg", str(kg_copy), "--direction", "out", "--json"])
    assert json.loads(r.stdout)["edges"] == []
    r = runner.invoke(app, ["kg", "relations", "T:M001", "--kg", str(kg_copy), "--min-score", "0.8", "--json"])
    assert json.loads(r.stdout)["edges"] == []
    r = runner.invoke(app, ["kg", "relations", "T:M001", "--kg", str(kg_copy)])
    assert r.exit_code == 0 and "learned from text" in r.output and "He developed nausea after metformin." in r.output

    r = runner.invoke(app, ["kg", "stats", "--kg", str(kg_copy), "--json"])
    stats = json.loads(r.stdout)
    assert stats["sources"]["tiny"]["concepts"] == 30  # the curated layer, unchanged
    assert stats["grown"]["documents"] == 3 and stats["grown"]["predicates"]["treats"]["edges"] == 2
    r = runner.invoke(app, ["kg", "stats", "--kg", str(kg_copy)])
    assert "grown layer" in r.output and "learned relations" in r.output


def test_cli_grow_errors(kg_copy, tmp_path):
    r = runner.invoke(app, ["kg", "grow", str(tmp_path / "nope.jsonl"), "--kg", str(kg_copy), "--no-model"])
    assert r.exit_code == 2 and "no such file or folder" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "Fever."}\n["not", "an", "object"]\n')
    r = runner.invoke(app, ["kg", "grow", str(bad), "--kg", str(kg_copy), "--no-model", "-j", "1"])
    assert r.exit_code == 2 and "line 2" in r.output
    r = runner.invoke(app, ["kg", "relations", "T:NOPE", "--kg", str(kg_copy)])
    assert r.exit_code == 2 and "not in the knowledge graph" in r.output


def test_unknown_predicate_is_named(kg_copy, corpus):
    runner.invoke(app, ["kg", "grow", str(corpus), "--kg", str(kg_copy), "--no-model", "-j", "1"])
    r = runner.invoke(app, ["kg", "relations", "T:M001", "--kg", str(kg_copy), "--predicate", "cures"])
    assert r.exit_code == 2 and "Unknown relation predicate 'cures'" in r.output and "treats" in r.output
