"""PubTator reading: documents, composite and -1 mentions, CID lines, and one coded error per malformed line."""

from __future__ import annotations

import pytest
from medlens.relations.pubtator import parse_pubtator, read_pubtator, split_ids

from medlens.errors import InputError
from tests.relations.conftest import PUBTATOR


def test_pubtator_reads_documents_mentions_and_relations():
    docs = read_pubtator(PUBTATOR)
    assert [d.pmid for d in docs] == ["1001", "1002", "1003"]
    first = docs[0]
    assert first.title == "Cisplatin induced renal failure."
    assert first.text.startswith("Cisplatin induced renal failure. Two of 40")
    assert [(m.start, m.end, m.type, m.ids) for m in first.mentions[:2]] == [
        (0, 9, "Chemical", ("D002945",)), (18, 31, "Disease", ("D051437",))]
    assert all(d.text[m.start:m.end] == m.text for d in docs for m in d.mentions)
    assert [(r.type, r.head, r.tail) for r in first.relations] == [("CID", "D002945", "D051437"), ("CID", "D002945", "D034381")]
    assert docs[2].relations == []


def test_pubtator_composite_and_no_concept_ids():
    doc = read_pubtator(PUBTATOR)[1]
    composite = next(m for m in doc.mentions if m.text == "breast and ovarian cancer")
    assert composite.ids == ("D001943", "D010051")
    assert next(m for m in doc.mentions if m.text == "rash").ids == ()
    assert split_ids("D1+D2") == ("D1", "D2")
    assert split_ids("-1") == ()


GOOD = ["9|t|Aspirin and ulcer.", "9|a|Aspirin caused an ulcer."]


@pytest.mark.parametrize(("lines", "bad_line", "words"), [
    (["9\t0\t7\tAspirin\tChemical\tD001241"], 1, "before any title"),
    (GOOD + ["9\tx\t7\tAspirin\tChemical\tD001241"], 3, "not whole numbers"),
    (GOOD + ["9\t0\t700\tAspirin\tChemical\tD001241"], 3, "outside the document text"),
    (GOOD + ["9\t0\t7\tAspirin\tChemical"], 3, "5 tab-separated columns"),
    (GOOD + ["9\t0\t7\tAspirn\tChemical\tD001241"], 3, "is not the document text"),
    (GOOD + ["8\t0\t7\tAspirin\tChemical\tD001241"], 3, "differs from the document's PMID"),
    (GOOD + ["9\tCID\tD001241\t"], 3, "both ids"),
    (["9|a|Aspirin caused an ulcer."], 1, "without its title line"),
    (GOOD + ["9|a|again"], 3, "a second abstract line"),
    (GOOD + ["9\t0\t7\tAspirin\t\tD001241"], 3, "no type"),
])
def test_pubtator_malformed_line_names_file_and_line(lines, bad_line, words):
    with pytest.raises(InputError) as info:
        list(parse_pubtator(lines, "bad.PubTator.txt"))
    message = str(info.value)
    assert message.startswith(f"bad.PubTator.txt, line {bad_line}:")
    assert words in message


def test_pubtator_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_pubtator(tmp_path / "absent.txt")
