"""Model spans are cut where a sentence (a list item) starts: "BID\n- Lisinopril" is two pieces."""

from medlens.components.transformer_ner import _within_sentences


def test_transformer_ner_span_cut_at_list_item():
    text = "- Metformin 500 mg PO BID\n- Lisinopril 20 mg PO daily\n"
    start, end = text.index("BID"), text.index("Lisinopril") + len("Lisinopril")
    sent_starts = [0, text.index("- Lisinopril")]
    assert [text[a:b] for a, b in _within_sentences(text, start, end, sent_starts)] == ["BID", "Lisinopril"]


def test_transformer_ner_span_within_one_sentence_unchanged():
    text = "History of type 2 diabetes\nmellitus, on metformin."
    start, end = text.index("type"), text.index("mellitus") + len("mellitus")
    assert _within_sentences(text, start, end, [0]) == [(start, end)]


def test_transformer_ner_span_drops_trailing_function_words_and_numbers():
    text = "She wants liposuction of her abdomen. Sodium 135, swelling in the brain."
    for piece, expected in (("liposuction of", "liposuction"), ("Sodium 135", "Sodium"), ("swelling in the", "swelling")):
        a = text.index(piece)
        assert [text[x:y] for x, y in _within_sentences(text, a, a + len(piece), [0])] == [expected]


def test_transformer_ner_span_keeps_numbers_that_are_part_of_a_name():
    text = "Known diabetes mellitus type 2 and trisomy 21."
    for name in ("diabetes mellitus type 2", "trisomy 21"):
        a = text.index(name)
        assert [text[x:y] for x, y in _within_sentences(text, a, a + len(name), [0])] == [name]


def test_transformer_ner_model_disease_named_like_a_procedure_is_a_procedure():
    from medlens.components.transformer_ner import model_label, procedure_endings

    endings = procedure_endings()
    assert model_label("tympanoplasty", "DISEASE", endings) == "PROCEDURE"
    assert model_label("basal cell carcinoma resection", "DISEASE", endings) == "PROCEDURE"
    assert model_label("breast augmentation", "DISEASE", endings) == "PROCEDURE"
    assert model_label("ulcerative colitis", "DISEASE", endings) == "DISEASE"
    assert model_label("colostomy", "CHEMICAL", endings) == "CHEMICAL"  # only the model's diseases


def test_not_entities_stop_list():
    from medlens.components.transformer_ner import model_stopwords, not_entities

    words = not_entities()
    for w in ("congruent", "esmarch", "acute distress", "mmhg"):
        assert w in words
    assert "pneumonia" not in words and not (words & model_stopwords() - words)


def test_not_entities_cover_surgical_supplies():
    from medlens.components.transformer_ner import not_entities

    assert {"vicryl", "steri-strips", "kerlix", "hemostasis"} <= not_entities()
    assert "marcaine" not in not_entities()  # a drug (bupivacaine), not a supply
