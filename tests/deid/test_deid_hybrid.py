"""The hybrid recognizer: model spans united with pattern spans, the medical guard, a missing model."""

from __future__ import annotations

import pytest

from medlens.deid import PatternRecognizer, PhiSpan
from medlens.deid.model import DEFAULT_MODEL_DIR, PhiModel, load_phi_model, phi_type_of
from medlens.deid.recognizer import HybridRecognizer
from medlens.errors import ConfigError


class StubModel:
    """A PhiModel stand-in returning fixed spans."""

    def __init__(self, spans: list[PhiSpan]) -> None:
        self.spans = spans

    def predict(self, texts):
        return [list(self.spans) for _ in texts]


def _covered(text: str, spans, needle: str) -> bool:
    s = text.index(needle)
    return any(p.start < s + len(needle) and s < p.end for p in spans)


def test_hybrid_union_keeps_patterns_and_adds_uncovered_model_parts():
    text = "Lives at Rue de Rivoli 12, 75001 Paris with Dr. Smith since 03/14/2021."
    s = text.index("Rue")
    model = StubModel([PhiSpan(type="ADDRESS", start=s, end=text.index(" with"), source="model"),
                       PhiSpan(type="NAME", start=text.index("Smith"), end=text.index(" since"), source="model")])
    spans = HybridRecognizer(PatternRecognizer(), model).predict(text)
    pattern_only = PatternRecognizer().predict(text)
    assert set(pattern_only) <= set(spans)  # every pattern span is kept as it is
    assert _covered(text, spans, "Rivoli") and _covered(text, spans, "Paris")
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))  # sorted, no overlaps
    assert not any(p.source == "model" and p.start < text.index(" since") and text.index("Smith") < p.end
                   for p in spans)  # the name is the pattern's span, not doubled by the model


def test_hybrid_guards_medical_names():
    text = "History of Hodgkin lymphoma; maria lopez visited."
    model = StubModel([PhiSpan(type="NAME", start=11, end=18, source="model"),
                       PhiSpan(type="NAME", start=text.index("maria"), end=text.index(" visited"), source="model")])
    spans = HybridRecognizer(PatternRecognizer(), model).predict(text)
    assert not _covered(text, spans, "Hodgkin")
    assert _covered(text, spans, "maria lopez")
    # a protected (dictionary) range blocks model names too
    protected = [(text.index("maria"), text.index(" visited"))]
    assert not _covered(text, HybridRecognizer(PatternRecognizer(), model).predict(text, protected), "maria")


def test_hybrid_drops_punctuation_only_pieces_and_respects_types():
    text = "Call 617-555-0123."
    model = StubModel([PhiSpan(type="PHONE", start=4, end=len(text), source="model")])
    spans = HybridRecognizer(PatternRecognizer(), model).predict(text)
    assert [(p.type, text[p.start:p.end]) for p in spans] == [("PHONE", "617-555-0123")]
    only_dates = HybridRecognizer(PatternRecognizer(types=["DATE"]), model).predict(text)
    assert only_dates == []


def test_phi_type_of_contact_and_address():
    assert phi_type_of("CONTACT", "jo@example.org") == "EMAIL"
    assert phi_type_of("CONTACT", "+44 7700 900123") == "PHONE"
    assert phi_type_of("CONTACT", "www.example.org") == "URL"
    assert phi_type_of("CONTACT", "10.0.0.1") == "IP"
    assert phi_type_of("ADDRESS", "75001") == "ZIP"
    assert phi_type_of("LOCATION", "Paris") == "LOCATION"
    assert phi_type_of("UNKNOWN", "x") is None


def test_missing_model_falls_back_to_patterns(tmp_path, monkeypatch):
    import medlens.deid.model as model_mod

    assert load_phi_model("none") is None and load_phi_model(None) is None
    monkeypatch.setattr(model_mod, "DEFAULT_MODEL_DIR", tmp_path)
    assert load_phi_model("default") is None
    with pytest.raises(ConfigError, match="does not exist"):
        load_phi_model(tmp_path / "nope")
    from medlens.components.deid import DeidRecognizer

    comp = DeidRecognizer(model="default")
    assert not comp.has_model


def test_component_runs_onnx_model_and_unites_spans(tiny_phi_onnx, tiny_kg_path):
    from medlens.components.deid import phi_of
    from medlens.deid import deid_pipeline

    nlp = deid_pipeline(tiny_kg_path, model=str(tiny_phi_onnx), model_threads=1)
    assert nlp.get_pipe("medlens_deid").has_model
    text = "Seen on 03/14/2021 for Parkinson's disease."
    docs = list(nlp.pipe([text, text]))  # the batched path
    for doc in docs + [nlp(text)]:
        phi = phi_of(doc)
        assert any(p.type == "DATE" and text[p.start:p.end] == "03/14/2021" and p.source.startswith("pattern")
                   for p in phi)
        assert any(p.source == "model" and text[p.start:p.end] == "Seen" for p in phi)  # the model tags every word
        assert not _covered(text, phi, "Parkinson") and not _covered(text, phi, "disease")  # the medical guard holds
        assert all(a.end <= b.start for a, b in zip(phi, phi[1:]))
    assert isinstance(nlp.get_pipe("medlens_deid").recognizer.model, PhiModel)


def test_component_model_path_must_exist(tmp_path):
    from medlens.components.deid import DeidRecognizer

    with pytest.raises(ConfigError):
        DeidRecognizer(model=str(tmp_path / "missing"))


SHIPPED = (DEFAULT_MODEL_DIR / "model.int8.onnx").exists()


@pytest.mark.skipif(not SHIPPED, reason="no shipped PHI model in medlens/assets/deid")
def test_shipped_model_finds_lowercase_names_and_foreign_addresses():
    model = load_phi_model("default", threads=1)
    hybrid = HybridRecognizer(PatternRecognizer(), model)
    cases = [
        ("called back, spoke with ingrid halvorsen about the biopsy.", "halvorsen"),
        ("Her son moved in with her at Kastanienallee 41, 10435 Berlin last spring.", "Kastanienallee"),
        ("plan discussed with wojciech at bedside, he agrees with discharge.", "wojciech"),
    ]
    for text, needle in cases:
        assert _covered(text, hybrid.predict(text), needle), text
    text = "Known Parkinson disease and Hodgkin lymphoma, on levodopa."
    assert not any(_covered(text, hybrid.predict(text), w) for w in ("Parkinson", "Hodgkin", "levodopa"))


def test_hybrid_drops_field_labels_and_short_model_spans():
    text = "BILLING\nGuarantor: Ada Lovelace\nBP 92/60, 103 yo."
    g, bp = text.index("Guarantor"), text.index("92")
    model = StubModel([PhiSpan(type="NAME", start=g, end=g + 9, source="model"),
                       PhiSpan(type="NAME", start=text.index("Ada"), end=text.index("\nBP"), source="model"),
                       PhiSpan(type="ID", start=bp, end=bp + 2, source="model"),
                       PhiSpan(type="PHONE", start=text.index("yo"), end=text.index("yo") + 2, source="model")])
    spans = HybridRecognizer(PatternRecognizer(), model).predict(text)
    assert not _covered(text, spans, "Guarantor") and not _covered(text, spans, "92/60") and not _covered(text, spans, "yo")
    assert _covered(text, spans, "Lovelace")
