"""Adverse drug events: rules in the pipeline, flags, the tagger's pairing, and the component with a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medlens.medications.ade import AdeRules, Mention, events_from_tags, merge_events


def events(nlp, text):
    return [(e.drug, e.effect, e.negated, e.speculated) for e in nlp(text)._.adverse_events]


def test_developed_hepatitis_after_isoniazid(meds_nlp):
    doc = meds_nlp("He developed hepatitis after isoniazid.")
    (ev,) = doc._.adverse_events
    assert (ev.drug, ev.effect, ev.trigger, ev.negated, ev.speculated) == ("isoniazid", "hepatitis", "after", False, False)
    assert ev.evidence == "He developed hepatitis after isoniazid."
    assert ev.drug_ids[0] == "T:M103" and ev.effect_ids[0] == "T:D101"
    assert doc.text[ev.effect_start:ev.effect_end] == "hepatitis"


def test_no_rash_after_amoxicillin_is_negated(meds_nlp):
    assert events(meds_nlp, "No rash after amoxicillin.") == [("amoxicillin", "rash", True, False)]


def test_drug_induced_effect_and_speculation(meds_nlp):
    assert events(meds_nlp, "Isoniazid-induced hepatitis was suspected.") == [("Isoniazid", "hepatitis", False, True)]
    assert events(meds_nlp, "Angioedema possibly due to amoxicillin.") == [("amoxicillin", "Angioedema", False, True)]


def test_indications_and_unrelated_mentions_are_not_events(meds_nlp):
    assert events(meds_nlp, "Gabapentin 300 mg PO TID for neuropathic pain.") == []
    assert events(meds_nlp, "Hypertension. Metoprolol succinate 25 mg daily.") == []
    assert events(meds_nlp, "Rash on the arm; prednisone 40 mg daily.") == []


def test_tagger_spans_pair_each_effect_with_the_nearest_drug():
    text = "Hepatotoxicity was attributed to isoniazid, not to rifampin."
    rules = AdeRules()
    spans = [("EFFECT", 0, 14), ("TRIGGER", 19, 29), ("DRUG", 33, 42), ("DRUG", 51, 59)]
    mentions = [Mention("isoniazid", 33, 42, "DRUG", ("DB00951",))]
    (ev,) = events_from_tags(text, 0, len(text), spans, mentions, rules)
    assert (ev.drug, ev.effect, ev.trigger, ev.source, ev.drug_ids) == ("isoniazid", "Hepatotoxicity", "attributed", "model", ("DB00951",))


def test_rule_and_model_events_merge_once():
    text = "He developed hepatitis after isoniazid."
    rules = AdeRules()
    ms = [Mention("hepatitis", 13, 22, "DISEASE"), Mention("isoniazid", 29, 38, "DRUG")]
    r = rules.find(text, 0, len(text), ms)
    m = events_from_tags(text, 0, len(text), [("EFFECT", 13, 22), ("DRUG", 29, 38)], ms, rules)
    merged = merge_events(r, m)
    assert len(merged) == 1 and merged[0].source == "rules+model"


ADE_LABELS = ["O", "B-DRUG", "I-DRUG", "B-EFFECT", "I-EFFECT", "B-TRIGGER", "I-TRIGGER", "B-DOSAGE", "I-DOSAGE"]


@pytest.fixture(scope="module")
def tiny_ade_onnx(tmp_path_factory) -> Path:
    """A random-weight BERT with the ADE tagger's labels, exported by ``medlens export``."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    import torch
    from transformers import BertConfig, BertForTokenClassification

    from medlens.training.export import export_onnx
    from tests.training.conftest import write_tokenizer

    folder = tmp_path_factory.mktemp("tiny_ade") / "model"
    folder.mkdir()
    write_tokenizer(folder, ["developed", "hepatitis", "after", "isoniazid", "no", "rash", "amoxicillin", "he", "."])
    n_vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").split())
    torch.manual_seed(0)
    config = BertConfig(vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=64, num_labels=len(ADE_LABELS), id2label=dict(enumerate(ADE_LABELS)),
                        label2id={lab: i for i, lab in enumerate(ADE_LABELS)})
    model = BertForTokenClassification(config)
    with torch.no_grad():  # make the head prefer EFFECT on every word: the component must then pair it with the drug
        model.classifier.bias.zero_()
        model.classifier.bias[ADE_LABELS.index("B-EFFECT")] = 50.0
    model.save_pretrained(str(folder))
    (folder / "labels.json").write_text(json.dumps({"labels": ADE_LABELS, "max_length": 32, "stride": 8}), encoding="utf-8")
    out = tmp_path_factory.mktemp("tiny_ade_onnx")
    export_onnx(folder, out)
    return out


def test_component_runs_the_tagger_torch_free(tiny_ade_onnx, meds_kg_path):
    import medlens
    from medlens.config import RULES_ONLY

    nlp = medlens.load(kg_path=str(meds_kg_path), components=("sections", "sentences", "transformer_ner", "dictionary_ner",
                                                               "context", "linker", "adverse_events"),
                       model_path=None, ade_model_path=str(tiny_ade_onnx))
    assert nlp.get_pipe("medlens_adverse_events").tagger is not None
    doc = nlp("He developed hepatitis after isoniazid. The weather was fine.")
    evs = doc._.adverse_events
    # every word is tagged B-EFFECT and none TRIGGER: in a pipeline, tagger events need a trigger, so only
    # the rule event is left, and it is the tagger's too ("hepatitis" is one of its effects)
    assert [(e.drug, e.effect, e.source) for e in evs] == [("isoniazid", "hepatitis", "rules")]
    tagger = nlp.get_pipe("medlens_adverse_events").tagger
    (ents,) = tagger.entities(["He developed hepatitis after isoniazid."])
    assert {e.label for e in ents} == {"EFFECT"}
    rules_only = medlens.load(kg_path=str(meds_kg_path), components=RULES_ONLY, ade_model_path=str(tiny_ade_onnx))
    assert rules_only.get_pipe("medlens_adverse_events").tagger is None  # no transformer recognizer: rules alone


def test_pipe_tags_only_sentences_with_a_drug_and_an_effect_and_matches_single_calls(tiny_ade_onnx, meds_kg_path):
    import medlens

    nlp = medlens.load(kg_path=str(meds_kg_path), components=("sections", "sentences", "transformer_ner", "dictionary_ner",
                                                               "context", "linker", "adverse_events"),
                       model_path=None, ade_model_path=str(tiny_ade_onnx))
    component = nlp.get_pipe("medlens_adverse_events")
    read: list[list[str]] = []
    entities = component.tagger.entities
    component.tagger.entities = lambda texts, **kw: read.append(list(texts)) or entities(texts, **kw)
    texts = ["He takes isoniazid daily. He developed hepatitis after isoniazid.",
             "No rash after amoxicillin.",
             "The weather was fine.",
             "Amoxicillin was stopped."]
    single = [[(e.drug, e.effect, e.source) for e in nlp(t)._.adverse_events] for t in texts]
    assert read == [["He developed hepatitis after isoniazid."], ["No rash after amoxicillin."]]  # drug + effect only
    read.clear()
    piped = [[(e.drug, e.effect, e.source) for e in d._.adverse_events] for d in nlp.pipe(texts, batch_size=8)]
    assert piped == single
    assert single[0] == [("isoniazid", "hepatitis", "rules")] and single[2] == [] and single[3] == []
    # one tagger call for the whole group, the sentences of both documents together
    assert read == [["He developed hepatitis after isoniazid.", "No rash after amoxicillin."]]


def test_missing_ade_model_folder_is_a_clear_error(meds_kg_path, tmp_path):
    import medlens
    from medlens.errors import ModelError

    with pytest.raises(ModelError, match="no such folder"):
        medlens.load(kg_path=str(meds_kg_path), components=("sections", "sentences", "transformer_ner", "dictionary_ner",
                                                             "adverse_events"), ade_model_path=str(tmp_path / "nope"))


def test_tagger_effects_with_therapeutic_triggers_are_dropped():
    text = "Her pruritus resolved with cholestyramine."
    rules = AdeRules()
    spans = [("EFFECT", 4, 12), ("TRIGGER", 13, 21), ("DRUG", 27, 41)]
    assert events_from_tags(text, 0, len(text), spans, [], rules) == []
    spans = [("EFFECT", 4, 12), ("TRIGGER", 13, 21), ("DRUG", 27, 41)]
    assert len(events_from_tags(text.replace("resolved", "appeared"), 0, len(text), spans, [], rules)) == 1


def test_in_a_pipeline_tagger_events_need_a_trigger_and_entities():
    text = "The wound was irrigated with saline after hepatitis from isoniazid."
    rules = AdeRules()
    ms = [Mention("hepatitis", 42, 51, "DISEASE"), Mention("isoniazid", 57, 66, "DRUG")]
    spans = [("EFFECT", 4, 9), ("TRIGGER", 14, 23), ("DRUG", 29, 35), ("EFFECT", 42, 51), ("DRUG", 57, 66)]
    loose = events_from_tags(text, 0, len(text), spans, ms, rules)
    strict = events_from_tags(text, 0, len(text), spans, ms, rules, require_entities=True)
    assert {e.effect for e in loose} == {"wound", "hepatitis"}
    assert [(e.drug, e.effect) for e in strict] == [("isoniazid", "hepatitis")]


def test_in_a_pipeline_an_effect_right_after_its_drug_behind_if_or_for_is_an_indication():
    rules = AdeRules()
    text = "Consider gabapentin if neuropathic pain develops."
    ms = [Mention("gabapentin", 9, 19, "DRUG"), Mention("neuropathic pain", 23, 39, "SYMPTOM")]
    spans = [("DRUG", 9, 19), ("EFFECT", 23, 39), ("TRIGGER", 40, 48)]
    assert events_from_tags(text, 0, len(text), spans, ms, rules, require_entities=True) == []
    # the same words with a cause between them stay an event
    text2 = "Gabapentin caused neuropathic pain to develop."
    ms2 = [Mention("Gabapentin", 0, 10, "DRUG"), Mention("neuropathic pain", 18, 34, "SYMPTOM")]
    spans2 = [("DRUG", 0, 10), ("TRIGGER", 11, 17), ("EFFECT", 18, 34)]
    (ev,) = events_from_tags(text2, 0, len(text2), spans2, ms2, rules, require_entities=True)
    assert (ev.drug, ev.effect) == ("Gabapentin", "neuropathic pain")
    # an effect after a drug given for something else is still an event ("for otitis, developed a rash")
    text3 = "Started amoxicillin for otitis, developed a rash."
    ms3 = [Mention("amoxicillin", 8, 19, "DRUG"), Mention("otitis", 24, 30, "DISEASE"), Mention("rash", 44, 48, "SYMPTOM")]
    spans3 = [("DRUG", 8, 19), ("EFFECT", 24, 30), ("TRIGGER", 32, 41), ("EFFECT", 44, 48)]
    assert [e.effect for e in events_from_tags(text3, 0, len(text3), spans3, ms3, rules, require_entities=True)] == ["rash"]

def test_tidy_spans_keeps_numbers_whole_and_multiword_routes_one_span():
    from medlens.medications.ade import tidy_spans

    text = "after sublingual ingestion of glycopyrrolate (5.0 microg/kg) and 3.6 mg of goserelin"
    r1, r2 = text.index("sublingual"), text.index("ingestion")
    d = text.index("0 microg/kg")
    g = text.index("6 mg")
    drug = text.index("glycopyrrolate")
    spans = [("ROUTE", r1, r1 + 10), ("ROUTE", r2, r2 + 9), ("DRUG", drug, drug + 14),
             ("DOSAGE", d, d + 11), ("DOSAGE", g, g + 4)]
    got = {(lab, text[s:e]) for lab, s, e in tidy_spans(text, spans)}
    assert got == {("ROUTE", "sublingual ingestion"), ("DRUG", "glycopyrrolate"),
                   ("DOSAGE", "5.0 microg/kg"), ("DOSAGE", "3.6 mg")}


def test_tidy_spans_does_not_merge_main_arguments_or_spans_apart():
    from medlens.medications.ade import tidy_spans

    text = "aspirin clopidogrel given iv, po"
    spans = [("DRUG", 0, 7), ("DRUG", 8, 19), ("ROUTE", 26, 28), ("ROUTE", 30, 32)]
    assert tidy_spans(text, spans) == spans
    # a span starting after a decimal point takes the digits before it
    text = "INR was 1.74."
    assert tidy_spans(text, [("DOSAGE", 10, 13)]) == [("DOSAGE", 8, 13)]


def test_tidy_spans_reads_a_lone_frequency_word_as_a_frequency():
    from medlens.medications.ade import tidy_spans

    text = "treatment with weekly paclitaxel for 6 weeks"
    w, d = text.index("weekly"), text.index("6 weeks")
    assert tidy_spans(text, [("DURATION", w, w + 6), ("DURATION", d, d + 7)]) == [("FREQ", w, w + 6),
                                                                                  ("DURATION", d, d + 7)]
