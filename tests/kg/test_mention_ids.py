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
