"""Possible adverse drug reactions read from the text itself (issue 12, fourth round): a drug the text says was
started, then a finding of a kind drugs commonly cause; and the adverse-event reader's stated events."""

from medlens.doc.types import AdverseEvent
from medlens.reasoning.models import Finding
from medlens.reasoning.reactions import TextDrug, is_reaction_kind, started, stated_reactions, timing_reactions

MESSAGE = ("I started the amoxicillin you prescribed on Monday for my sinus infection. Since yesterday I have a red "
           "itchy rash on my arms and chest. I don't have any trouble breathing. I take lisinopril for my blood "
           "pressure and I have a rash on my hands from gardening.")


def _drug(text: str, words: str, cid: str) -> TextDrug:
    i = text.index(words)
    return TextDrug(cid, words.capitalize(), words, i, i + len(words))


def _finding(text: str, words: str, name: str, status: str = "present", nth: int = 0) -> Finding:
    i = -1
    for _ in range(nth + 1):
        i = text.index(words, i + 1)
    return Finding(id=f"X:{name}", name=name, text=words, start=i, end=i + len(words), status=status)


def test_a_finding_after_a_started_drug_is_a_possible_reaction():
    amox, lis = _drug(MESSAGE, "amoxicillin", "DB01060"), _drug(MESSAGE, "lisinopril", "DB00722")
    rash = _finding(MESSAGE, "itchy rash", "Skin rash")
    breath = _finding(MESSAGE, "trouble breathing", "Dyspnea", status="absent")
    hands = _finding(MESSAGE, "rash", "Skin rash 2", nth=1)
    got = timing_reactions(MESSAGE, [amox, lis], [rash, breath, hands])
    assert [(r.drug, r.finding, r.predicate, r.knowledge) for r in got] == [
        ("DB01060", "X:Skin rash", "after_starting", "read from this text")]
    assert "Since yesterday I have a red itchy rash" in got[0].evidence[0].sentence
    assert got[0].score is None and got[0].documents == 0


def test_started_words():
    assert started(MESSAGE, _drug(MESSAGE, "amoxicillin", "A"))
    assert not started(MESSAGE, _drug(MESSAGE, "lisinopril", "L"))  # taken, never started in the text
    t = "She was put on lisinopril last week. The amoxicillin you prescribed helped."
    assert started(t, _drug(t, "lisinopril", "L")) and started(t, _drug(t, "amoxicillin", "A"))


def test_the_window_is_two_sentences():
    t = "I started ciprofloxacin. One. Two. Three. Now I have diarrhea."
    cipro = _drug(t, "ciprofloxacin", "C")
    assert timing_reactions(t, [cipro], [_finding(t, "diarrhea", "Diarrhea")]) == []
    t2 = "I started ciprofloxacin. One. Now I have diarrhea."
    assert len(timing_reactions(t2, [_drug(t2, "ciprofloxacin", "C")], [_finding(t2, "diarrhea", "Diarrhea")])) == 1


def test_only_reaction_kinds():
    assert is_reaction_kind(Finding(id="X", name="Urticaria", text="hives"))
    assert is_reaction_kind(Finding(id="X", name="Edema", text="lips are swollen"))
    assert not is_reaction_kind(Finding(id="X", name="Heartburn", text="heartburn"))
    t = "I started metformin. Since then I have a cough."
    assert timing_reactions(t, [_drug(t, "metformin", "M")], [_finding(t, "cough", "Cough")]) == []


def test_stated_events_are_kept_when_their_effect_is_a_reaction_kind():
    t = "MORPHINE CAUSES VOMITING. He takes his dad's Pepcid AE when he gets heartburn."
    vom = _finding(t, "VOMITING", "Vomiting")
    ev = [AdverseEvent("MORPHINE", 0, 8, "VOMITING", 16, 24, "CAUSES", "MORPHINE CAUSES VOMITING.", 0,
                       drug_ids=("DB00295",)),
          AdverseEvent("Pepcid AE", 44, 53, "heartburn", 68, 77, "when", t[26:], 26),
          AdverseEvent("MORPHINE", 0, 8, "VOMITING", 16, 24, "CAUSES", "MORPHINE CAUSES VOMITING.", 0, negated=True)]
    got = stated_reactions(ev, [vom])
    assert [(r.drug, r.finding, r.predicate) for r in got] == [("DB00295", "X:Vomiting", "adverse_event")]


def test_an_upset_stomach_in_either_order():
    """"my stomach is upset" is the lay "upset stomach" (dyspepsia); "upset" alone names nothing."""
    from medlens.components.transformer_ner import not_entities
    from medlens.reasoning.lay import default_rewriter

    rw = default_rewriter()
    for text in ("Since yesterday my stomach is upset.", "I have an upset stomach.", "My tummy is upset."):
        assert "dyspepsia" in rw.rewrite(text).text
    assert "upset" in not_entities() and "upset stomach" not in not_entities()
