"""The CDR corpus and the shipped relation model on real abstracts (slow; skipped without ../shared/data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from medlens.relations.pubtator import read_pubtator

from medlens.runtime import RELATIONS_DIR
from tests.conftest import shared_data

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize(("split", "relations"), [("train", 1038), ("dev", 1012)])
def test_cdr_files_parse_completely(split, relations):
    docs = read_pubtator(shared_data("cdr-relations", f"{split}.PubTator.txt"))
    assert len(docs) == 500
    assert sum(len(d.relations) for d in docs) == relations
    assert all(d.text[m.start:m.end] == m.text for d in docs for m in d.mentions)
    assert any(len(m.ids) > 1 for d in docs for m in d.mentions)  # composite mentions


def test_shipped_model_beats_cooccurrence_on_dev_abstracts():
    if not (RELATIONS_DIR / "model.int8.onnx").is_file():
        pytest.skip(f"no relation model shipped in {RELATIONS_DIR}")
    sys.path.insert(0, str(BENCH))
    from medlens.relations.encoding import split_sentences
    from medlens.relations.model import RelationModel
    from relations_cdr import cooccurring, gold_mentions, gold_of, score

    docs = read_pubtator(shared_data("cdr-relations", "dev.PubTator.txt"))  # all 500: 100 differ by a few points
    model = RelationModel.from_path(RELATIONS_DIR, threads=1)
    enc = [model.encode(d.text, gold_mentions(d), title_end=len(d.title)) for d in docs]
    found = model.predict(enc)
    gold = [gold_of(d) for d in docs]
    ours = score(gold, [{(p.head_id, p.tail_id) for p in f} for f in found])
    cooc = score(gold, [cooccurring(d.text, gold_mentions(d), split_sentences(d.text, [len(d.title)])) for d in docs])
    # benchmarks/README.md: 51.0 against 43.9 (no hypernym filter); the floors sit a little under
    assert ours["f1"] >= 49.0
    assert ours["f1"] > cooc["f1"] + 5
