"""A draft visit note from a doctor-patient conversation, extractive and templated (every sentence has its turns).

Steps: read the turns and their speakers; classify each turn into a note
section (:mod:`medlens.summarize.turns`); analyze the turns with the pipeline
(entities and assertions); write sentences: the doctor's introduction and the
patient's account in third person (history), yes/no answers to the doctor's
questions and the patient's own denials as "Endorses X." / "Denies X."
(review of systems, pertinent negatives), the doctor's spoken findings, results
and plan as statements. Nothing is written that no turn says: each sentence is
a rewrite of the words of the turns it lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from medlens.errors import Errors, InputError
from medlens.summarize.models import DialogueTurn, NoteSection, NoteSentence, VisitNote
from medlens.summarize.rewrite import RewriteRules  # noqa: F401 (re-exported)
from medlens.summarize.rewrite import finish_sentence as _finish
from medlens.summarize.rewrite import note_numbers as _numbers
from medlens.summarize.rewrite import rewrite_rules as _rules
from medlens.summarize.turns import SECTIONS, TurnModel, load_turn_model, predict_sections

_CLINICAL = ("DISEASE", "SYMPTOM", "FINDING", "DRUG", "CHEMICAL", "TEST", "PROCEDURE")

TITLES = {
    "chief_complaint": "Chief complaint",
    "history_of_present_illness": "History of present illness",
    "review_of_systems": "Review of systems",
    "physical_exam": "Physical exam",
    "results": "Results",
    "assessment_and_plan": "Assessment and plan",
}

_LABELED = re.compile(r"^\s*(?:\[([A-Za-z_ ]+)\]|([A-Za-z_]+)\s*:)\s*(.*)$")


def parse_dialogue(text: str, *, where: str = "dialogue") -> tuple[list[DialogueTurn], list[str]]:
    """The turns of a conversation, one per non-empty line.

    Args:
        text: ``[doctor] ...`` / ``[patient] ...`` lines (also ``Doctor: ...``, ``D: ...``).
        where: a name for error messages.

    Returns:
        ``(turns, warnings)``. Lines without a known speaker label continue the
        previous turn when some lines are labeled; when none is, every line is a
        turn of speaker ``other`` and a warning says so.

    Raises:
        InputError: the text holds no words.
    """
    rules = _rules()
    turns: list[DialogueTurn] = []
    warnings: list[str] = []
    offset = 0
    unlabeled = 0
    for line in text.splitlines(keepends=True):
        start = offset
        offset += len(line)
        body = line.strip()
        if not body:
            continue
        m = _LABELED.match(line)
        speaker = None
        if m:
            name = (m.group(1) or m.group(2) or "").strip().lower().replace(" ", "_")
            if name in rules.speakers:
                speaker = rules.speakers[name]
                words = m.group(3).strip()
                wstart = start + line.find(words) if words else start
            elif m.group(1):  # an unknown [label]: another person in the room
                speaker = "other"
                words = m.group(3).strip()
                wstart = start + line.find(words) if words else start
        if speaker is None:
            unlabeled += 1
            if turns and any(t.speaker != "other" for t in turns):
                prev = turns[-1]
                turns[-1] = prev.model_copy(update={"text": prev.text + " " + body, "end": start + line.rstrip().__len__()})
                continue
            speaker, words, wstart = "other", body, start + line.find(body)
        if not words:
            continue
        turns.append(DialogueTurn(index=len(turns), speaker=speaker, text=words, start=wstart, end=wstart + len(words)))
    if not turns:
        raise InputError(Errors.E852.format(where=where))
    if all(t.speaker == "other" for t in turns):
        warnings.append("no speaker labels ([doctor] / [patient]) were found: turns are read without speakers, "
                        "so the history and the doctor's findings cannot be told apart well")
    elif unlabeled:
        warnings.append(f"{unlabeled} line(s) without a speaker label were joined to the turn before them")
    return turns, warnings


# -- text clean-up and person rewriting ------------------------------------------------
_SPACING = [(re.compile(r"\s+([,.?!;:])"), r"\1"), (re.compile(r"\b(do|does|did|is|are|was|were|have|has|had|ca|wo|could|should|would) n't\b"), r"\1n't"),
            (re.compile(r"\bgon na\b"), "going to"), (re.compile(r"\bwan na\b"), "want to"), (re.compile(r"\bgot ta\b"), "got to"),
            (re.compile(r"\b(\w+) - (\w+)\b"), r"\1-\2"), (re.compile(r"\s{2,}"), " ")]
_SUBJECT_BEFORE = frozenset("and but so if when because that do does did are were have has can could will would "
                            "should since after before while until than where why how what cause".split())
_VERBS_ES = {"do": "does", "go": "goes", "have": "has", "don't": "doesn't", "haven't": "hasn't", "am": "is", "was": "was"}
_VERBS = ("feel take get need want know try use notice walk eat sleep work like wake see hurt think drink smoke "
          "live play run start stop exercise check keep forget miss wear say lose gain play swim hike travel "
          "experience experienced").split()


def _clean(text: str, fillers: list[str]) -> str:
    t = " " + text.strip() + " "
    for f in sorted(fillers, key=len, reverse=True):
        t = re.sub(r"(?<=[\s,.])" + re.escape(f) + r"(?=[\s,.])", " ", t, flags=re.I)
    for pattern, repl in _SPACING:
        t = pattern.sub(repl, t)
    t = re.sub(r"(?<![\w'])([\w']+)(,? \1(?![\w']))+", r"\1", t, flags=re.I)  # stutters: "i , i" -> "i"
    t = re.sub(r",?\s*\b(okay|ok|right|alright|all right)\s*\?", ".", t, flags=re.I)  # tag questions
    t = re.sub(r"\.\s*,\s*", ". ", t)
    t = re.sub(r"\.(\s*\.)+", ".", t)
    t = re.sub(r"^[\s,.]+", "", t)
    t = re.sub(r"\s*,\s*,+", ",", t)
    return t.strip(" ,")


def _person(text: str, mapping: dict[str, str], s: str, o: str, p: str) -> str:
    keys = sorted(mapping, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w'])", re.I)

    def repl(m: re.Match[str]) -> str:
        return mapping[m.group(1).lower()].format(S=s, O=o, P=p)

    def repl_you(m: re.Match[str]) -> str:
        # "you" is the object after a verb or preposition, the subject after a pause or a conjunction
        before = text[:m.start()].rstrip().lower()
        prev = re.findall(r"[\w']+|[^\w\s]", before)[-1:] or [""]
        subject = prev[0] in _SUBJECT_BEFORE or not prev[0].isalpha()
        return (s if subject else o)

    out = pattern.sub(lambda m: repl_you(m) if m.group(1).lower() == "you" else repl(m), text)
    if s in ("she", "he", "the patient"):  # agreement after a third-person subject
        def verb(m: re.Match[str]) -> str:
            v = m.group(2)
            if v in _VERBS_ES:
                return f"{m.group(1)} {_VERBS_ES[v]}"
            if v in _VERBS:
                return f"{m.group(1)} {v}{'es' if v.endswith(('s', 'sh', 'ch', 'x')) else 's'}"
            return m.group(0)

        out = re.sub(r"\b(" + re.escape(s) + r"|" + re.escape(s.capitalize()) + r")\s+([a-z']+)\b", verb, out)
    return out


def _sentences(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"(?<=[.!?])\s+", text) if x.strip()]


# rewrite steps chosen by 5-fold cross-validation on ACI-bench train (benchmarks/summarize_dialogue.py cv);
# ``summarize_dialogue(skip=...)`` leaves any of them out (the benchmark measures each one that way)
STEPS = ("numbers", "hedges", "cutoffs", "we_will", "talk_about_talk", "intro_in_plan")


def _drop_phrases(text: str, phrases: list[str]) -> str:
    if not phrases:
        return text
    pattern = r"(?<![\w'])(?:" + "|".join(re.escape(h) for h in sorted(phrases, key=len, reverse=True)) + r")(?![\w'])"
    t = re.sub(pattern, " ", text, flags=re.I)
    t = re.sub(r"\s+([,.?!;:])", r"\1", t)
    t = re.sub(r",\s*,", ",", t)
    t = re.sub(r"^[\s,]+", "", t)
    return re.sub(r"\s{2,}", " ", t).strip()


def _cutoffs(text: str) -> str:
    """Drop cut-off words ("f- felt", "pain-") and false starts ("are you ... how are you doing")."""
    if "..." in text:
        parts = [x.strip(" ,") for x in text.split("...")]
        parts = [x for x in parts if x]
        if parts and len(parts[-1].split()) >= 4:
            text = parts[-1]
        else:
            text = " ".join(parts)
    t = re.sub(r"(?<![\w'])[a-z]{1,3}-\s+(?=[a-z])", " ", text, flags=re.I)  # "f- felt", "t- taking"
    t = re.sub(r"(?<=\w)-(?=\s|[.,?!]|$)", "", t)  # "back pain-." -> "back pain."
    t = re.sub(r"(?<![\w'])(\w+(?: \w+){1,3}),? \1(?![\w'])", r"\1", t, flags=re.I)  # "trying to, trying to"
    t = re.sub(r"\s+([,.?!;:])", r"\1", t)
    return re.sub(r"\s{2,}", " ", t).strip(" ,")


def _we_will(text: str, openers: list[str]) -> str:
    """The doctor's plans as a note writes them: "I'm going to prescribe X" -> "We will prescribe X"."""
    if not openers:
        return text
    pattern = r"(^|(?<=[,;]\s)|(?<=\band\s)|(?<=\bso\s))(?:" + "|".join(openers) + r")\s+(?!be\b)"
    t = re.sub(pattern, r"\1we will ", text, flags=re.I)
    if t != text:
        t = re.sub(r"\bwe will go ahead(?:,| and)?\s+(?!\W)", "we will ", t, flags=re.I)
        t = re.sub(r"^(?:and|so|okay|now|then)[\s,]+(?=we will\b)", "", t, flags=re.I)
    return t


def _pronouns(turns: list[DialogueTurn]) -> tuple[str, str, str]:
    doctor_text = " ".join(t.text.lower() for t in turns if t.speaker != "patient")
    if re.search(r"\b(female|woman|lady|girl|mrs\.?|ms\.?|miss)\b", doctor_text):
        return "she", "her", "her"
    if re.search(r"\b(male|man|gentleman|boy|mr\.?)\b", doctor_text):
        return "he", "him", "his"
    she, he = len(re.findall(r"\bshe\b", doctor_text)), len(re.findall(r"\bhe\b", doctor_text))
    if she > he:
        return "she", "her", "her"
    if he > she:
        return "he", "him", "his"
    return "the patient", "the patient", "the patient's"


def summarize_dialogue(text: str, *, nlp, doc_id: str | None = None, max_sentences: dict[str, int] | None = None,
                       turn_model: TurnModel | None = None, skip: Iterable[str] = (),
                       generator: Callable[[str], str] | None = None) -> VisitNote:
    """Write a visit note from a conversation.

    Args:
        text: the dialogue, one turn per line (see :func:`parse_dialogue`).
        nlp: a medlens pipeline; it reads the turns' entities and assertions.
        doc_id: the id written in the result.
        max_sentences: most sentences per section (default: chief complaint 1, history 20,
            review of systems 14, exam 10, results 6, assessment and plan 20; chosen on ACI-bench train).
        turn_model: the turn classifier (default: the shipped one).
        skip: rewrite steps of :data:`STEPS` to leave out (for measuring what each is worth); unknown names
            raise an error.
        generator: rewrites a sentence in note style (see :mod:`medlens.summarize.generate`); each rewrite is
            kept only when it passes the fact check against the dialogue. None (default): the extractive note.

    Returns:
        A :class:`VisitNote`: ``.text`` is the note, every sentence lists its source turns.

    Raises:
        InputError: the dialogue is empty.
    """
    rules = _rules()
    skip = set(skip)
    if skip - set(STEPS):
        raise InputError(Errors.E380.format(value=", ".join(sorted(skip - set(STEPS))), opts=", ".join(STEPS)))
    on = {x: x not in skip for x in STEPS}
    limits = {"chief_complaint": 1, "history_of_present_illness": 20, "review_of_systems": 14, "physical_exam": 10,
              "results": 6, "assessment_and_plan": 20, **(max_sentences or {})}
    turns, warnings = parse_dialogue(text, where=doc_id or "dialogue")
    s, o, p = _pronouns(turns)
    model = turn_model or load_turn_model()
    pairs = [(t.speaker, _clean(t.text, rules.fillers)) for t in turns]
    labels = predict_sections(model, pairs)
    docs = list(nlp.pipe([c for _, c in pairs]))
    chitchat = [re.compile(x, re.I) for x in rules.chitchat]
    procedural = re.compile("|".join(rules.procedural), re.I)
    exam_cues = rules.section_cues.get("physical_exam", [])
    out: dict[str, list[NoteSentence]] = {name: [] for name in SECTIONS}
    seen: set[str] = set()

    talk = re.compile("|".join(rules.talk_about_talk), re.I) if rules.talk_about_talk else None
    intro: NoteSentence | None = None

    def put(section: str, sentence: str, sources: list[int]) -> NoteSentence | None:
        if on["cutoffs"]:
            sentence = _cutoffs(sentence)
        if on["hedges"]:
            sentence = _drop_phrases(sentence, rules.hedges)
        if on["numbers"]:
            sentence = _numbers(sentence, rules.units)
        sentence = _finish(sentence)
        key = re.sub(r"\W+", " ", sentence.lower()).strip()
        if not sentence or key in seen or len(out[section]) >= limits[section]:
            return None
        seen.add(key)
        out[section].append(NoteSentence(text=sentence, turns=sources))
        return out[section][-1]

    # chief complaint and the introduction the doctor dictates ("X is a 50-year-old female ... who presents ...")
    for i, (speaker, clean) in enumerate(pairs):
        if speaker == "patient":
            continue
        m = re.search(r"([^.?!]*\b\d+[- ]year[- ]old\b[^.?!]*)", clean, re.I)
        if m:
            intro = _person(m.group(1).strip(), rules.second_person, s, o, p)
            cc = re.search(r"\b(?:presents?|presenting|here|coming in|comes in|referred)\b[^.?!]*?\b(?:for|with)\b\s+([^.?!]+)", intro, re.I)
            if cc:
                put("chief_complaint", cc.group(1).strip(), [i])
            intro = put("history_of_present_illness", intro, [i])
            break
    if not out["chief_complaint"]:
        for i, doc in enumerate(docs):
            if pairs[i][0] == "patient":
                ents = [e for e in doc.ents if e.label_ in ("SYMPTOM", "DISEASE", "FINDING")
                        and not (e._.assertion and (e._.assertion.negated or e._.assertion.family))]
                if ents:
                    put("chief_complaint", ents[0].text, [i])
                    break

    yes = [re.compile(r"^\W*" + re.escape(a) + r"\b", re.I) for a in rules.yes_answers]
    no = [re.compile(r"^\W*" + re.escape(a) + r"\b", re.I) for a in rules.no_answers]
    for i, (speaker, clean) in enumerate(pairs):
        label, _prob = labels[i]
        doc = docs[i]
        # a doctor's question about a symptom, answered yes or no by the patient
        if speaker != "patient" and clean.rstrip().endswith("?") and i + 1 < len(pairs) and pairs[i + 1][0] == "patient":
            answer = pairs[i + 1][1]
            symptoms = [e for e in doc.ents if e.label_ in ("SYMPTOM", "FINDING")]
            if symptoms and len(answer.split()) <= 12:
                names = ", ".join(dict.fromkeys(e.text.lower() for e in symptoms))
                if any(r.search(answer) for r in no):
                    put("review_of_systems", f"Denies {names}", [i, i + 1])
                elif any(r.search(answer) for r in yes):
                    put("review_of_systems", f"Endorses {names}", [i, i + 1])
        if speaker == "patient":
            for e in doc.ents:
                a = e._.assertion
                if e.label_ not in ("SYMPTOM", "FINDING") or a is None or a.family:
                    continue
                if a.negated:
                    put("review_of_systems", f"Denies {e.text.lower()}", [i])
                elif not (a.hypothetical or a.uncertain or a.historical):
                    put("review_of_systems", f"Endorses {e.text.lower()}", [i])
        if label == "none" and speaker == "doctor":
            # the classifier saw no note section here: the doctor's words still count when they carry a
            # clinical entity and a section's cue words (an exam finding, a result, a plan)
            if not any(e.label_ in _CLINICAL for e in doc.ents):
                continue
            low = clean.lower()
            label = next((name for name in ("results", "physical_exam", "assessment_and_plan")
                          if any(c in low for c in rules.section_cues.get(name, []))), "none")
            if label == "none":
                continue
        elif label == "none" and speaker != "other":
            continue
        section = label if label != "none" else "history_of_present_illness"
        if section == "chief_complaint":
            section = "history_of_present_illness"
        if speaker == "patient" and section not in ("history_of_present_illness", "review_of_systems"):
            section = "history_of_present_illness"
        if speaker != "patient" and section == "review_of_systems":
            continue  # the doctor's questions are written as the answers above
        entity_words = [e.text.lower() for e in doc.ents if e.label_ in _CLINICAL or e.label_ == "ANATOMY"]
        for sent in _sentences(clean):
            if sent.endswith("?") or len(sent.split()) < 4 or any(c.search(sent) for c in chitchat):
                continue
            if speaker != "patient" and on["talk_about_talk"] and talk and talk.search(sent):
                continue  # talk about the talk: "let me ask you", "I'm going to examine you now"
            if section == "physical_exam":
                # the exam says what was found: no announcements ("let me take a look"),
                # and a sentence names something clinical
                low = sent.lower()
                if procedural.search(low) or not any(w in low for w in entity_words + exam_cues):
                    continue
            if speaker == "patient":
                sent = _person(sent, rules.first_person, s, o, p)
            else:
                if on["we_will"]:
                    sent = _we_will(sent, rules.plan_openers)
                sent = _person(sent, rules.second_person, s, o, p)
            put(section, sent, [i])

    if intro is not None and on["intro_in_plan"]:
        # notes open the assessment with the introduction again (age, sex, reason for the visit)
        plan = out["assessment_and_plan"]
        plan.insert(0, intro.model_copy())
        del plan[limits["assessment_and_plan"]:]

    sections = [NoteSection(name=name, title=TITLES[name], sentences=out[name]) for name in SECTIONS]
    n = sum(len(x.sentences) for x in sections)
    grounded = sum(1 for x in sections for y in x.sentences if y.turns) / n if n else 1.0
    if n == 0:
        warnings.append("no note sentence could be written from this conversation")
    note = VisitNote(id=doc_id or "", sections=sections, turns=turns, grounded=grounded, warnings=warnings)
    if generator is not None and n:
        from medlens.summarize.generate import generate_note

        note = generate_note(note, docs, nlp, generator)
    return note
