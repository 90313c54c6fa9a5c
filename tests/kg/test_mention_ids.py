"""Given-mention normalization helpers (issue 11, part 2)."""

import spacy

from medlens.components.linker import EntityLinker
from medlens.components.mention_ids import MentionNormalizer, find_abbreviations, spelling_variants, split_composite


def test_find_abbreviations_schwartz_hearst():
    text = ("Ataxia-telangiectasia (A-T) is rare. The inherited form of idiopathic dilated cardiomyopathy (IDC). "
            "Patients with Huntington disease (HD) and controls (n = 12) took doxorubicin (DOX).")
    assert find_abbreviations(text) == {"A-T": "Ataxia-telangiectasia", "IDC": "idiopathic dilated cardiomyopathy",
                                        "HD": "Huntington disease", "DOX": "doxorubicin"}
    # letters out of order: the looser initials rule
    assert find_abbreviations("myotonic dystrophy (DM) is common") == {"DM": "myotonic dystrophy"}


def test_split_composite_shares_the_head():
    assert split_composite("breast and ovarian cancer") == ["breast cancer", "ovarian cancer"]
    assert split_composite("brain, breast, and prostate cancer") == ["brain cancer", "breast cancer", "prostate cancer"]
    assert split_composite("Duchenne/Becker muscular dystrophy") == ["Duchenne muscular dystrophy", "Becker muscular dystrophy"]
    assert split_composite("hepatitis B and C") == ["hepatitis B", "hepatitis C"]
    assert split_composite("breast cancer") == []


def test_spelling_variants():
    assert "anemia" in spelling_variants("anaemia")
    assert "tumor" in spelling_variants("tumour")
    assert "hypertension" in spelling_variants("hypertensive")


def test_normalizer_routes(ids_kg):
    norm = MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg)
    assert norm.normalize("breast cancer", "DISEASE").ids == ("MESH:D001943",)
    both = norm.normalize("breast and ovarian cancers", "DISEASE")
    assert (both.ids, both.route) == (("MESH:D001943", "MESH:D010051"), "composite")
    drug = norm.normalize("Tylenol", "DRUG")  # a DrugBank brand name, mapped through the xref
    assert drug.ids == ("MESH:D000082",)
    abbr = norm.normalize("BC", "DISEASE", abbreviations=find_abbreviations("women with breast cancer (BC) were"))
    assert (abbr.ids, abbr.route) == (("MESH:D001943",), "abbreviation")
    assert norm.normalize("zzzz qqqq", "DISEASE").ids == ()


def _era_normalizer(era_kg, **kwargs):
    return MentionNormalizer(EntityLinker.from_kg(era_kg, nlp=spacy.blank("en")), era_kg, **kwargs)


def test_descriptor_newer_than_medic_becomes_its_medic_parent(era_kg):
    norm = _era_normalizer(era_kg)
    assert norm.newest_medic_descriptor() == 28227
    assert norm.normalize("cytopenia", "DISEASE").ids == ("MESH:D006402",)
    # two broader concepts: the one whose name is closest to the mention
    assert norm.normalize("corneal abrasion", "DISEASE").ids == ("MESH:D003316",)
    # an id the training annotators used stands, however new
    assert norm.normalize("cardiotoxicity", "DISEASE").ids == ("MESH:D066126",)
    # today's descriptor on request
    assert _era_normalizer(era_kg, medic_era=False).normalize("cytopenia", "DISEASE").ids == ("MESH:D000095542",)


def test_document_long_form_overrides_a_short_form_learnt_elsewhere(era_kg):
    norm = _era_normalizer(era_kg)
    assert norm.normalize("FAP", "DISEASE").ids == ("MESH:D011125",)  # the annotators' FAP
    other = find_abbreviations("Familial amyloidotic polyneuropathy (FAP) is a neuropathy.")
    found = norm.normalize("FAP", "DISEASE", other)
    assert (found.ids, found.route) == (("MESH:D028227",), "abbreviation")
    same = find_abbreviations("Familial adenomatous polyposis (FAP) is inherited.")
    assert norm.normalize("FAP", "DISEASE", same).ids == ("MESH:D011125",)


def test_composite_asides_dropped_and_conjuncts_take_every_route(era_kg):
    assert split_composite("obstructive (P less than 0.05) and central apnoea") == [
        "obstructive apnoea", "central apnoea"]
    assert split_composite("Parkinson disease (PD)") == []
    norm = _era_normalizer(era_kg)
    # "progressive limb ataxia" names a concept only by its head
    found = norm.normalize("progressive gait and limb ataxia", "DISEASE")
    assert (found.ids, found.route) == (("MESH:D020234", "MESH:D001259"), "composite")


def test_medic_era_leaves_drugs_alone(era_kg):
    assert _era_normalizer(era_kg).medic_era_id("MESH:D000095542", "cytopenia") == "MESH:D006402"
    assert _era_normalizer(era_kg).normalize("cytopenia", "DRUG").ids == ("MESH:D000095542",)


def test_composite_codings_of_training_texts(ids_kg, tmp_path):
    import gzip

    import pytest

    from medlens.errors import SourceError

    table = tmp_path / "composites.tsv.gz"
    with gzip.open(table, "wt", encoding="utf-8") as fh:
        fh.write("# codings\n"
                 "HBOC\tDisease\tD001943|D010051\t2\n"   # mostly two ids: both given
                 "HBOC\tDisease\tD001943\t1\n"
                 "BOC\tDisease\tD001943|D010051\t1\n"    # half and half: no majority, the other routes decide
                 "BOC\tDisease\tD003924\t1\n")
    norm = MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg, composites=table)
    assert MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg).composite_ids_of(
        "breast and/or ovarian cancer", "DISEASE") == ()  # no table unless asked
    shipped = MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg, composites=True)
    assert shipped.composite_ids_of("breast and/or ovarian cancer", "DISEASE") == ("MESH:D001943", "MESH:D010051")
    found = norm.normalize("hboc", "DISEASE")  # same key: case ignored
    assert (found.ids, found.route) == (("MESH:D001943", "MESH:D010051"), "composite")
    assert norm.normalize("HBOC", "DRUG").ids == ()  # the coding was of a disease
    assert norm.composite_ids_of("BOC", "DISEASE") == ()
    plain = MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg, composites=False)
    assert plain.normalize("HBOC", "DISEASE").ids == ()
    bad = tmp_path / "bad.tsv"
    bad.write_text("HBOC\tDisease\tnot-an-id\t2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="composite mention table .* malformed .line 1"):
        MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg, composites=bad)
    with pytest.raises(SourceError, match="composite mention table .* missing"):
        MentionNormalizer(EntityLinker.from_kg(ids_kg, nlp=spacy.blank("en")), ids_kg, composites=tmp_path / "absent.tsv")


def test_own_name_before_a_synonym_of_another_concept(era_kg):
    # "Dejerine-Sottas syndrome" is an exact synonym (MeSH entry term) of Hereditary Sensory and Motor
    # Neuropathy, which the linker ranks first, and the own name of a supplementary concept
    linked = _era_normalizer(era_kg).normalize("Dejerine-Sottas syndrome", "DISEASE")
    assert linked.ids == ("MESH:D015417",)
    norm = _era_normalizer(era_kg, own_name=True)
    found = norm.normalize("Dejerine-Sottas syndrome", "DISEASE")
    assert (found.ids, found.route) == (("MESH:C538392",), "own_name")
    # a mention that is the first concept's own name keeps it; one that is nobody's name keeps the order
    assert norm.normalize("hereditary sensory and motor neuropathy", "DISEASE").ids == ("MESH:D015417",)
    assert norm.normalize("cytopenia", "DISEASE").ids == ("MESH:D006402",)
