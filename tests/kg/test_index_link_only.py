"""``mention`` synonyms (training-corpus names, short codes) are for the linker only."""

import spacy

from medlens.components.linker import EntityLinker
from medlens.kg.index import MatchIndex


def test_mention_synonym_is_linked_but_never_matched_in_text(ids_kg, ids_kg_path):
    import medlens
    from medlens.config import RULES_ONLY

    index = MatchIndex.from_graph(ids_kg)
    assert index.by_key("paracetamolum")[0].concept_ids == ("MESH:D000082",)
    assert not any(v == index.link_keys.get(index.vocab.encode("paracetamolum")) for v in index.keys.values())
    linker = EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en"))
    top = linker.link_text("paracetamolum", label="DRUG")[0]
    # a mention synonym is never an "exact" match: it cannot outrank a real name of another concept
    assert (top.concept_id, top.method) == ("MESH:D000082", "normalized")

    nlp = medlens.load(kg_path=str(ids_kg_path), components=RULES_ONLY)
    doc = nlp("She took paracetamolum and Tylenol for breast cancer.")
    assert [e.text for e in doc.ents] == ["Tylenol", "breast cancer"]
