"""Rule-based drug attributes on real-style medication strings (no pipeline, no graph)."""

from __future__ import annotations

import pytest

from medlens.medications.attributes import AttributeExtractor


@pytest.fixture(scope="module")
def ex() -> AttributeExtractor:
    return AttributeExtractor()


def attrs(ex, text: str, drug: str, **kw):
    s = text.index(drug)
    return ex.extract(text, s, s + len(drug), **kw)


def values(found) -> dict[str, str]:
    return {k: a.value for k, a in found.items()}


@pytest.mark.parametrize("text, drug, expected", [
    ("metoprolol succinate 25 mg PO BID", "metoprolol succinate", {"strength": "25 mg", "route": "PO", "frequency": "BID"}),
    ("started on prednisone 40 mg daily for 5 days", "prednisone",
     {"strength": "40 mg", "frequency": "QD", "duration": "5 d", "status": "started"}),
    ("albuterol inhaler 2 puffs inhaled q4-6h PRN wheezing", "albuterol inhaler",
     {"dose": "2 puff", "route": "INH", "frequency": "Q4-6H PRN"}),
    ("Percocet 1-2 tabs q4-6h prn pain", "Percocet", {"dose": "1-2 tablet", "frequency": "Q4-6H PRN"}),
    ("vancomycin 15mg/kg IV q12h x2 weeks", "vancomycin",
     {"strength": "15 mg/kg", "route": "IV", "frequency": "Q12H", "duration": "2 wk"}),
    ("enoxaparin 0.5 mL subq daily", "enoxaparin", {"strength": "0.5 mL", "route": "SC", "frequency": "QD"}),
    ("Tylenol #3 one tablet by mouth every 6 hours as needed for pain", "Tylenol #3",
     {"dose": "1 tablet", "route": "PO", "frequency": "Q6H PRN"}),
    ("gabapentin 300 mg PO TID for neuropathic pain", "gabapentin",
     {"strength": "300 mg", "route": "PO", "frequency": "TID", "indication": "neuropathic pain"}),
    ("Lantus 20 units SC qhs", "Lantus", {"dose": "20 unit", "route": "SC", "frequency": "HS"}),
    ("aspirin 81 mg QD", "aspirin", {"strength": "81 mg", "frequency": "QD"}),
    ("aspirin 81 mg QID", "aspirin", {"strength": "81 mg", "frequency": "QID"}),
    ("Lisinopril was held because of hypotension", "Lisinopril", {"status": "held"}),
    ("metformin was discontinued", "metformin", {"status": "stopped"}),
    ("increased lisinopril to 20 mg daily", "lisinopril", {"status": "increased", "strength": "20 mg", "frequency": "QD"}),
    ("He was given 2 g of ceftriaxone intravenously", "ceftriaxone", {"strength": "2 g", "route": "IV"}),
    ("fluticasone nasal spray 2 sprays in each nostril daily", "fluticasone nasal spray",
     {"dose": "2 spray", "route": "NAS", "frequency": "QD"}),
    ("nitroglycerin 0.4 mg SL q5min x3 doses PRN chest pain", "nitroglycerin",
     {"strength": "0.4 mg", "route": "SL", "frequency": "Q5MIN PRN", "duration": "3 doses"}),
    ("Coumadin 5 mg every other day", "Coumadin", {"strength": "5 mg", "frequency": "QOD"}),
    ("methotrexate 15 mg once weekly", "methotrexate", {"strength": "15 mg", "frequency": "WK"}),
    ("KCl 20 mEq PO twice a day", "KCl", {"strength": "20 meq", "route": "PO", "frequency": "BID"}),
    ("amoxicillin 500 mg three times a day for 10 days for otitis media", "amoxicillin",
     {"strength": "500 mg", "frequency": "TID", "duration": "10 d", "indication": "otitis media"}),
    ("ibuprofen 400-600 mg every 8 hours as needed", "ibuprofen", {"strength": "400-600 mg", "frequency": "Q8H PRN"}),
    ("hydrocortisone cream 1% topically twice daily", "hydrocortisone cream",
     {"strength": "1 %", "route": "TOP", "frequency": "BID"}),
])
def test_attributes_of_real_style_strings(ex, text, drug, expected):
    kw = {}
    from medlens.medications.names import implied_route

    kw["name_route"] = implied_route(drug)
    assert values(attrs(ex, text, drug, **kw)) == expected


def test_a_drug_list_with_no_attributes_gives_empty_dicts(ex):
    text = "Medications: aspirin, lisinopril, atorvastatin."
    for drug in ("aspirin", "lisinopril", "atorvastatin"):
        s = text.index(drug)
        stop = text.find(",", s)
        assert attrs(ex, text, drug, stop=stop if stop > 0 else None) == {}


def test_attribute_spans_are_the_written_words(ex):
    text = "albuterol inhaler 2 puffs inhaled q4-6h PRN wheezing"
    found = attrs(ex, text, "albuterol inhaler")
    for a in found.values():
        assert text[a.start_char:a.end_char] == a.text
    f = found["frequency"].details
    assert (f["period"], f["period_max"], f["period_unit"]) == (4.0, 6.0, "h")
    assert (f["per_day"], f["per_day_max"]) == (4.0, 6.0)
    assert f["as_needed"] is True and f["as_needed_reason"] == "wheezing"


def test_normalized_details(ex):
    found = attrs(ex, "metoprolol succinate 25 mg PO BID", "metoprolol succinate")
    assert found["strength"].details["amount"] == 25.0 and found["strength"].details["ucum"] == "mg"
    assert found["route"].details["snomed"] == "26643006"
    assert found["frequency"].details["per_day"] == 2.0 and found["frequency"].details["gts_code"] == "BID"
    found = attrs(ex, "prednisone 40 mg daily for 2 weeks", "prednisone")
    assert found["duration"].details["days"] == 14.0


def test_implied_route_from_the_name_only_when_none_is_written(ex):
    found = attrs(ex, "albuterol inhaler 2 puffs q4h", "albuterol inhaler", name_route="INH")
    assert found["route"].value == "INH" and found["route"].source == "implied" and found["route"].text == ""
    found = attrs(ex, "albuterol inhaler 2.5 mg nebulized q4h", "albuterol inhaler", name_route="INH")
    assert found["route"].source == "rules" and found["route"].text == "nebulized"


def test_qd_and_qid_are_never_confused(ex):
    assert attrs(ex, "digoxin 0.125 mg q.d.", "digoxin")["frequency"].value == "QD"
    assert attrs(ex, "digoxin 0.125 mg q.i.d.", "digoxin")["frequency"].value == "QID"
    assert attrs(ex, "digoxin 0.125 mg qid", "digoxin")["frequency"].details["per_day"] == 4.0


def test_the_window_stops_at_the_next_drug(ex):
    text = "Lasix 40 mg IV once; metoprolol increased to 50 mg bid"
    found = attrs(ex, text, "Lasix", stop=text.index("metoprolol"))
    assert values(found) == {"strength": "40 mg", "route": "IV", "frequency": "ONCE"}


def test_bad_rules_file_is_a_clear_error(tmp_path):
    from medlens.errors import ResourceError
    from medlens.medications.rules import RoutesFile
    from medlens.resources import load_resource

    bad = tmp_path / "routes.json"
    bad.write_text('{"routes": [{"code": "PO", "snomed": "26643006", "display": "Oral", "forms": ["po"], "colour": "red"}]}')
    with pytest.raises(ResourceError, match="colour"):
        load_resource(bad, RoutesFile)


def test_combination_strengths_and_dotted_frequencies(ex):
    found = attrs(ex, "carbidopa/levodopa 25/100 mg three times a day", "carbidopa/levodopa")
    assert found["strength"].value == "25/100 mg" and found["strength"].details["amount"] is None
    assert attrs(ex, "Phenergan 25 mg q.6. p.r.n.", "Phenergan")["frequency"].value == "Q6H PRN"
    assert attrs(ex, "Duragesic patch 100 mcg q.3.d.", "Duragesic patch")["frequency"].details["per_day"] == pytest.approx(1 / 3, abs=1e-3)
    assert attrs(ex, "metoprolol 1/2 tab daily", "metoprolol")["dose"].value == "0.5 tablet"


def test_with_known_entities_only_a_named_condition_is_an_indication(ex):
    text = "Rituxan next week for an appointment; gabapentin for neuropathic pain"
    assert "indication" not in attrs(ex, text, "Rituxan", entities=[])
    assert "indication" not in attrs(ex, text, "Rituxan")  # no entities known: "an ..." is not a condition
    s = text.index("neuropathic pain")
    found = attrs(ex, text, "gabapentin", entities=[(s, s + 16, "SYMPTOM", ("HP:0000001",))])
    assert found["indication"].details["concept_id"] == "HP:0000001"
    assert "indication" not in attrs(ex, text, "gabapentin", entities=[(s, s + 16, "ANATOMY", ())])


def test_indication_after_dotted_abbreviations(ex):
    found = attrs(ex, "gabapentin 300 mg p.o. t.i.d. for neuropathic pain", "gabapentin")
    assert values(found) == {"strength": "300 mg", "route": "PO", "frequency": "TID", "indication": "neuropathic pain"}


def test_laboratory_values_are_not_strengths(ex):
    assert "strength" not in attrs(ex, "glucose 180 mg/dL this morning", "glucose")
    assert attrs(ex, "vancomycin 15 mg/kg", "vancomycin")["strength"].value == "15 mg/kg"


@pytest.mark.parametrize("text, drug, expected", [
    ("Colace 100 mg 1 b.i.d.", "Colace", {"strength": "100 mg", "dose": "1", "frequency": "BID"}),
    ("Epivir one daily.", "Epivir", {"dose": "1", "frequency": "QD"}),
    # a bare number of two digits is no count ("aspirin 81 daily" lacks its unit)
    ("aspirin 81 daily", "aspirin", {"frequency": "QD"}),
])
def test_a_bare_count_before_a_frequency_is_a_dose(ex, text, drug, expected):
    assert values(attrs(ex, text, drug)) == expected


def test_no_as_needed_reason_across_a_joined_heading(ex):
    """MTSamples joins list lines with commas: "Advil p.r.n.,ALLERGIES: None." has no reason."""
    found = attrs(ex, "Advil p.r.n.,ALLERGIES: None.", "Advil")
    assert found["frequency"].value == "PRN" and found["frequency"].details["as_needed_reason"] is None
    assert attrs(ex, "Zanaflex p.r.n. spasm", "Zanaflex")["frequency"].details["as_needed_reason"] == "spasm"
