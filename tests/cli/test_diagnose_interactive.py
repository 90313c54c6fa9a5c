"""``medlens diagnose --interactive``: the next question in DDXPlus's own words, and the answer re-ranks."""

from pathlib import Path

from typer.testing import CliRunner

from medlens.cli.app import app
from medlens.reasoning.common import CommonKnowledge


def test_interactive_asks_ddxplus_questions_and_reranks(tiny_kg_path: Path):
    questions = {f.question for f in CommonKnowledge.ddxplus().features}
    r = CliRunner().invoke(app, ["diagnose", "--kg", str(tiny_kg_path), "--no-semantic", "-s",
                                 "sore throat, runny nose, cough", "-i"], input="n\nq\n")
    assert r.exit_code == 0, r.output
    asked = [line.split(" [y]es")[0].strip() for line in r.output.splitlines() if "[y]es / [n]o / [s]kip / [q]uit" in line]
    assert len(asked) == 2  # the first answered "no", the second "quit"
    # DDXPlus's question, word for word (for a value of it, the value after it: "Do you feel pain somewhere? (headache)")
    assert all(any(q == d or q.startswith(d + " (") for d in questions) for q in asked), asked
    assert asked[0] != asked[1]  # the answer was taken: a new question
    assert r.output.count("Triage:") == 2  # the differential shown again after the answer
