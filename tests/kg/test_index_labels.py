"""Match index labels: ICD-10-CM decides symptom vs disease; names cut at a comma are not keys."""

from medlens.kg.build import build_graph
from medlens.kg.index import MatchIndex
from medlens.kg.sources.base import Concept, SourceData, SourceInfo, Synonym
from medlens.kg.store import KnowledgeGraph
from medlens.normalize import key_of_tokens


def test_index_icd10cm_decides_symptom_or_disease_and_truncated_names_are_dropped(tmp_path):
    concepts = [Concept("ICD10CM:E66.9", "Obesity, unspecified", "icd10cm", "DISEASE"),
                Concept("MESHTREE:C23.888.144", "Obesity", "mesh", "SYMPTOM"),
                Concept("MESHTREE:C23.888.119", "Fever", "mesh", "SYMPTOM"),
                Concept("DB06770", "Benzyl Alcohol", "drugs", "DRUG")]
    synonyms = [Synonym("ICD10CM:E66.9", "Obesity", "exact", "icd10cm"),
                Synonym("MESHTREE:C23.888.144", "Obesity", "preferred", "mesh"),
                Synonym("MESHTREE:C23.888.119", "Fever", "preferred", "mesh"),
                Synonym("DB06770", "Benzyl Alcohol", "preferred", "drugs"),
                Synonym("DB06770", "alcohol,", "exact", "drugs")]
    extra = [SourceData(SourceInfo(src, "1", src, "CC0", "test"), [c for c in concepts if c.source == src],
                        [s for s in synonyms if s.source == src], []) for src in ("icd10cm", "mesh", "drugs")]
    path = tmp_path / "mini.sqlite"
    build_graph(path, sources=(), extra=extra)
    with KnowledgeGraph.open(path) as kg:
        index = MatchIndex.from_graph(kg)
        assert [e.label for e in index.by_key(key_of_tokens(["Obesity"]))] == ["DISEASE"]
        assert [e.label for e in index.by_key(key_of_tokens(["Fever"]))] == ["SYMPTOM"]  # no ICD name: MeSH's label
        assert index.by_key(key_of_tokens(["alcohol"])) == []
