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
        # "alcohol," (cut from "Benzyl Alcohol") is not a key of Benzyl Alcohol; the MeSH heading
        # "Alcohols" (a link-only name the build adds beside the mesh source) may still name the key
        assert not any("DB06770" in e.concept_ids for e in index.by_key(key_of_tokens(["alcohol"])))


def test_index_keeps_a_symptom_hpo_files_under_a_symptom_root_unless_another_source_calls_it_a_disease(tmp_path):
    concepts = [Concept("ICD10CM:H93.1", "Tinnitus", "icd10cm", "DISEASE"),
                Concept("HP:0000360", "Tinnitus", "hpo", "SYMPTOM"),
                Concept("MESH:D014012", "Tinnitus", "mesh", "SYMPTOM"),
                Concept("ICD10CM:G43", "Migraine", "icd10cm", "DISEASE"),
                Concept("HP:0002076", "Migraine", "hpo", "SYMPTOM"),
                Concept("MESH:D008881", "Migraine Disorders", "mesh", "DISEASE"),
                Concept("ICD10CM:E66.9", "Obesity, unspecified", "icd10cm", "DISEASE"),
                Concept("HP:0001513", "Obesity", "hpo", "FINDING")]
    synonyms = [Synonym(c.id, c.name, "preferred", c.source) for c in concepts]
    synonyms += [Synonym("MESH:D008881", "Migraine", "exact", "mesh"), Synonym("ICD10CM:E66.9", "Obesity", "exact", "icd10cm")]
    extra = [SourceData(SourceInfo(src, "1", src, "CC0", "test"), [c for c in concepts if c.source == src],
                        [s for s in synonyms if s.source == src], []) for src in ("icd10cm", "hpo", "mesh")]
    path = tmp_path / "mini.sqlite"
    build_graph(path, sources=(), extra=extra)
    with KnowledgeGraph.open(path) as kg:
        index = MatchIndex.from_graph(kg)
        assert [e.label for e in index.by_key(key_of_tokens(["Tinnitus"]))] == ["SYMPTOM"]
        assert [e.label for e in index.by_key(key_of_tokens(["Migraine"]))] == ["DISEASE"]
        assert [e.label for e in index.by_key(key_of_tokens(["Obesity"]))] == ["DISEASE"]


def test_index_diabetes_alone_names_diabetes_mellitus_not_type_2(tmp_path):
    # ICD-10-CM lists "diabetes" only as an inclusion term of E11 (type 2), which is not matched alone;
    # the shipped abbreviation list reads the clipped "diabetes" as "diabetes mellitus"
    concepts = [Concept("ICD10CM:E11", "Type 2 diabetes mellitus", "icd10cm", "DISEASE"),
                Concept("ICD10CM:E08-E13", "Diabetes mellitus (E08-E13)", "icd10cm", "DISEASE")]
    synonyms = [Synonym("ICD10CM:E11", "Type 2 diabetes mellitus", "preferred", "icd10cm"),
                Synonym("ICD10CM:E11", "diabetes", "inclusion", "icd10cm"),
                Synonym("ICD10CM:E08-E13", "Diabetes mellitus", "exact", "icd10cm")]
    extra = [SourceData(SourceInfo("icd10cm", "1", "icd10cm", "CC0", "test"), concepts, synonyms, [])]
    path = tmp_path / "mini.sqlite"
    build_graph(path, sources=(), extra=extra)
    with KnowledgeGraph.open(path) as kg:
        index = MatchIndex.from_graph(kg)
        entries = index.by_key(key_of_tokens(["Diabetes"]))
        assert [e.concept_ids for e in entries] == [("ICD10CM:E08-E13",)]


def test_index_icd10cm_inclusion_terms_classify_only_under_signs_and_symptoms(tmp_path):
    concepts = [Concept("ICD10CM:R21", "Rash and other nonspecific skin eruption", "icd10cm", "SYMPTOM"),
                Concept("ICD10CM:T40.5X1", "Poisoning by cocaine", "icd10cm", "DISEASE"),
                Concept("MESHTREE:C17.800.257", "Exanthema", "mesh", "DISEASE"),
                Concept("DB00907", "Cocaine", "drugs", "DRUG")]
    synonyms = [Synonym(c.id, c.name, "preferred", c.source) for c in concepts]
    synonyms += [Synonym("ICD10CM:R21", "rash", "inclusion", "icd10cm"),
                 Synonym("ICD10CM:T40.5X1", "cocaine", "inclusion", "icd10cm"),
                 Synonym("MESHTREE:C17.800.257", "Rash", "exact", "mesh")]
    extra = [SourceData(SourceInfo(src, "1", src, "CC0", "test"), [c for c in concepts if c.source == src],
                        [s for s in synonyms if s.source == src], []) for src in ("icd10cm", "mesh", "drugs")]
    path = tmp_path / "mini.sqlite"
    build_graph(path, sources=(), extra=extra)
    with KnowledgeGraph.open(path) as kg:
        index = MatchIndex.from_graph(kg)
        assert [e.label for e in index.by_key(key_of_tokens(["rash"]))] == ["SYMPTOM"]
        assert [e.label for e in index.by_key(key_of_tokens(["cocaine"]))] == ["DRUG"]
