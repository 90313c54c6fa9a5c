"""Given-mention normalization on the real graph and the NCBI-disease / BC5CDR dev files (slow).

The floors sit a few points under the figures of benchmarks/README.md ("Concept
normalization to MeSH ids"), so a regression shows; the figures themselves come
from benchmarks/normalization.py.
"""

import sys
from pathlib import Path

import pytest

from tests.conftest import shared_data

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    import normalization

    return normalization


@pytest.mark.parametrize(("rel", "typ", "floor"), [
    (("ncbi-disease-ids", "dev.PubTator.txt"), "Disease", 83.0),
    (("cdr-relations", "dev.PubTator.txt"), "Disease", 82.0),
    (("cdr-relations", "dev.PubTator.txt"), "Chemical", 75.0),
])
def test_given_mention_acc1_floor(bench, full_kg_path, rel, typ, floor):
    from medlens.kg.store import KnowledgeGraph

    docs = bench.read_pubtator(shared_data(*rel))
    docs = dict(list(docs.items())[:100])
    kg = KnowledgeGraph.open(full_kg_path)
    if kg.concept("MESH:D003920") is None or "mentions" not in {s.name for s in kg.sources()}:
        pytest.skip(f"{full_kg_path} was built before the MeSH id tables: rebuild it with `medlens kg build`")
    systems = bench.make_systems(kg, ["normalizer"])
    res = bench.given_mention({"c": docs}, systems, bench.Equivalence(kg))
    assert res[("c", typ, "normalizer")]["acc@1"] >= floor
