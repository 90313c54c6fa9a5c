"""The patient behind the findings: age and sex, and history read as risk factors.

``read_patient("58-year-old man with chest pain")`` → ``Patient(age=58, sex="male")``;
"a 12-year-old girl", "61 year old Male", "67 y/o man", "Mr. Smith", "she"
(pronouns only decide when nothing else does, by majority).

:func:`scan_text` finds the words of knowledge features (antecedents such as
smoking, travel, contraceptive pills; in short patient texts also symptoms)
sentence by sentence, with the section they sit in (family history, past
history, current), a negation before them in the clause, and the feature's
``unless`` words (a *former* smoker is not a smoker). Findings of the pipeline
are routed to antecedents by the engine (``DiagnosisEngine.case_features``):
a historical or family finding that reaches an antecedent of the knowledge is a
risk factor; a past *symptom* never counts as a current one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from medlens.reasoning.models import Patient

_AGE = [
    (re.compile(r"\b(\d{1,3}(?:\.\d)?)[\s-]*(?:years?|yrs?)[\s-]*(?:of age|old)\b", re.I), 1.0),
    (re.compile(r"\b(\d{1,3})\s*(?:y/o|y\.o\.?|yo|yrs?|y)\b(?=[\s,]*(?:old\s+)?(?:male|female|man|woman|m|f|boy|girl|gentleman|lady|patient|pt|white|black|african|caucasian|hispanic|asian|with|presents|who|,))", re.I), 1.0),
    (re.compile(r"\b(\d{1,2})[\s-]*(?:months?|mos?)[\s-]*old\b", re.I), 1 / 12),
    (re.compile(r"\b(\d{1,2})[\s-]*(?:weeks?|wks?)[\s-]*old\b", re.I), 1 / 52),
    (re.compile(r"\b(\d{1,2})[\s-]*days?[\s-]*old\b", re.I), 1 / 365),
    (re.compile(r"\bage[d:]?\s*:?\s*(\d{1,3})\b", re.I), 1.0),
    (re.compile(r"\b(\d{1,3})\s*(?:M|F)\b(?!\w)"), 1.0),
    # a patient's own words ("I'm 34", "my husband is 58"): the subject's age, never a measure ("I'm 34 weeks")
    (re.compile(r"\b(?:I(?:'m|\s+am)|(?:my|our)\s+(?:husband|wife|partner|son|daughter|mother|father|mom|mum|dad|baby|child|"
                r"kid|boy|girl)\s+is|(?:s?he)(?:'s|\s+is))\s+(?:only\s+|just\s+)?(\d{1,3})\b(?![.,]\d)(?!\s*(?:%|percent|weeks?|wks?|"
                r"days?|months?|mos?|hours?|hrs?|minutes?|mins?|lbs?|pounds?|kgs?|kilos?|kilograms?|cm|inches|feet|ft|times|x\b|"
                r"mg|mcg|ml|units?|/|of\b|out\b|and\s+a\s+half\s+(?:weeks|months)))", re.I), 1.0),
]
_AGE_AT_EVENT = re.compile(r"\b(?:at|since|until|from|by|before|after|between|when (?:s?he|they) (?:was|were))\s+(?:the\s+)?(?:age\s+of\s+)?$",
                           re.I)
"""Words before an age that make it the age at an event, not the patient's ("menarche at 10 years of age")."""
_MALE = r"man|male|gentleman|boy|guy|son|husband|father|m"
_FEMALE = r"woman|female|lady|girl|daughter|wife|mother|f"
_NEAR_SEX = re.compile(rf"^[\s,-]*(?:old)?[\s,-]*(?:(?:white|black|african[- ]american|caucasian|hispanic|asian|latino|latina)\s+)?({_MALE}|{_FEMALE})\b", re.I)
_SEX_WORD = re.compile(r"\b(male|female|man|woman|gentleman|lady|boy|girl)\b", re.I)
_TITLE = re.compile(r"\b(Mr|Mrs|Ms|Miss)\.?\s+[A-Z]", re.M)
_SEX_FIELD = re.compile(r"\b(?:sex|gender)\s*:\s*(male|female|m|f)\b", re.I)
_PREGNANT = re.compile(r"\b(?:I(?:'m|\s+am)|she(?:'s|\s+is)|(?:the\s+)?(?:patient|pt)\s+is)\s+(?:\d{1,3}\s+and\s+)?(?:\d{1,2}\s+(?:weeks?|months?)\s+|"
                       r"currently\s+|now\s+|newly\s+)?pregnant\b", re.I)
"""The patient is pregnant ("I'm 34 weeks pregnant"): a woman, where nothing else says the sex."""
_HE = re.compile(r"\b(he|him|his|himself)\b", re.I)
_SHE = re.compile(r"\b(she|her|hers|herself)\b", re.I)


def _sex_of(word: str) -> str:
    w = word.lower()
    return "male" if re.fullmatch(_MALE, w) else "female"


def read_patient(text: str) -> Patient:
    """Age (years) and sex of the patient a note or a description is about, with the words that said so."""
    if not text:
        return Patient()
    age = sex = age_text = sex_text = None
    head = text[:4000]
    for rx, scale in _AGE:
        # an age at an event is not the patient's, nor the age of "my 7-month-old" when the writer tells of their
        # own symptoms ("I'm 29 and I've had a runny nose ... I'm breastfeeding my 7-month-old")
        m = next((m for m in rx.finditer(head) if not _AGE_AT_EVENT.search(head[max(0, m.start() - 25):m.start()])
                  and not (_MY_PERSON.search(head[max(0, m.start() - 40):m.start()]) and _WRITER_IS_PATIENT.search(head))),
                 None)
        if m:
            v = float(m.group(1)) * scale
            if 0 <= v <= 120:
                age, age_text = round(v, 2), m.group(0).strip()
                after = _NEAR_SEX.match(head[m.end():m.end() + 40])
                if after and not (after.group(1).lower() in ("m", "f") and not m.group(0).strip()[-1:].isdigit() and False):
                    w = after.group(1)
                    if len(w) > 1 or w in "MFmf":
                        sex, sex_text = _sex_of(w), (m.group(0) + head[m.end():m.end() + after.end()]).strip()
                if sex is None and re.search(r"\d\s*([MF])\b", m.group(0)):
                    sex, sex_text = ("male" if m.group(0).strip()[-1] == "M" else "female"), m.group(0).strip()
                break
    if sex is None:
        m = _SEX_FIELD.search(head)
        if m:
            sex, sex_text = _sex_of(m.group(1)), m.group(0)
    if sex is None:
        m = _TITLE.search(head)
        if m:
            sex, sex_text = ("male" if m.group(1) == "Mr" else "female"), m.group(0)[:-1].strip()
    if sex is None:
        m = _SEX_WORD.search(head)
        if m and not re.search(r"(mother|father|sister|brother|family|son|daughter|wife|husband)\W+(?:\w+\W+){0,3}$",
                               head[max(0, m.start() - 40):m.start()], re.I):
            sex, sex_text = _sex_of(m.group(1)), m.group(0)
    if sex is None:
        m = _PREGNANT.search(head)
        if m:
            sex, sex_text = "female", m.group(0)
    if sex is None:
        he, she = len(_HE.findall(head)), len(_SHE.findall(head))
        if he != she:
            sex = "male" if he > she else "female"
            sex_text = f"pronouns ({'he/his' if he > she else 'she/her'} x{max(he, she)})"
    return Patient(age=age, sex=sex, age_text=age_text, sex_text=sex_text)


# -- who the patient is: the writer, or a relative the writer describes ----------------------------
_MY_PERSON = re.compile(r"\b(?:my|our|(?:I|we)\s+(?:have|'ve got|have got)\s+an?)\s+(?:(?:\d{1,3}(?:\.\d)?|years?|yrs?|months?|weeks?|days?|old|little|baby|newborn|"
                        r"infant|toddler|teenage|teen|elderly|older|younger|eldest|oldest|youngest|adult|grown|new)"
                        r"[\s-]+){0,5}$", re.I)
_WRITER_IS_PATIENT = re.compile(r"\bI(?:'m|\s+am|'ve|\s+have|\s+had|\s+feel|\s+felt|\s+keep|\s+get|\s+got|\s+can'?t|"
                                r"\s+cannot|\s+woke|\s+started)\b(?!\s+(?:been\s+)?(?:worried|concerned|scared|afraid|"
                                r"wondering|noticed|think|thought|sure|not sure|no idea|a question)\b|\s+an?\s+(?:[\w-]+\s+){0,5}?"
                                r"(?:son|daughter|child|kid|baby|boy|girl)\b)", re.I)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|me)\b", re.I)


def described_person(text: str, start: int, end: int) -> bool:
    """Whether the person word at ``text[start:end]`` is the patient a patient text describes.

    True for the writer's relative as the subject ("My 4 year old son has ...", "our daughter
    doesn't ...", "I have a 2 year old son who ..."): the word follows "my"/"our"/"I have a" (an age or
    "little" may come between), the writer does
    not speak of their own symptoms ("I have ...", "I've been ..."), and the person is not the subject of
    a past history ("my mother had breast cancer", ``_PAST``) — that stays family history.
    """
    if not _MY_PERSON.search(text[max(0, start - 60):start]) or _WRITER_IS_PATIENT.search(text):
        return False
    return not re.match(r"\W*(?:\w+\W+){0,2}?(?:%s)" % _PAST.pattern, text[end:end + 40], re.I)


def writer_between(text: str, a: int, b: int) -> bool:
    """Whether the writer ("I", "me") speaks between two offsets: a family word's reach ends there
    ("my mother had breast cancer, I have chest pain": the chest pain is the writer's)."""
    return bool(_FIRST_PERSON.search(text[min(a, b):max(a, b)]))


# -- sections and sentences ----------------------------------------------------------------
_HEADER = re.compile(r"(?:^|(?<=[,.])|(?<=[,.]\s)|(?<=\s\s))\s*([A-Z][A-Za-z /&()-]{2,60}?)\s*:(?!\d)", re.M)
_NEG = re.compile(r"\b(no|not|denies|denied|denying|without|negative for|never|none|nor|absence of|free of|non|no longer|"
                  r"(?:do|does|did|have|has|had|is|are|was|were|ca|could|would|ai)(?:n['’]?t| not))\b", re.I)
NEGATION = _NEG
"""Negation cues before a word ("no", "denies", "without", ...)."""
_FAMILY_WORDS = re.compile(r"\b(mother|father|mom|dad|brother|sister|sibling|siblings|parents?|family|grandmother|"
                           r"grandfather|aunt|uncle|cousin|son|daughter|maternal|paternal|fhx|fh)\b", re.I)
_FAMILY_HX = re.compile(r"\b(family history|fhx|fh|runs in (the|my|his|her) family)\b", re.I)
_PAST = re.compile(r"\b(had|has had|died|passed away|history of|diagnosed|suffered)\b", re.I)
PAST_TIME = re.compile(r"\b(last (year|summer|winter|spring|fall|autumn)|(\d+|a|an|one|two|three|four|five|a few|few|several|many) "
                       r"(years?|months?) ago|years ago|in the past|as a (child|kid|teenager|teen|baby)|when (i|he|she) was (a |an |\d)|"
                       r"used to|history of|h/o|years before)\b", re.I)
"""Words that place a finding of a patient's text in the past ("I fainted last year", "as a child"); days or weeks
ago are the present illness."""
_SPLIT = re.compile(r"[.;!?\n]+")


def clause_start(text: str, pos: int) -> int:
    """Where the clause holding ``pos`` starts: after the last of ``.;!?`` or a line break before it (the same
    marks that end the clauses of :func:`sentences`), else 0."""
    return max(text.rfind(c, 0, pos) for c in ".;!?\n") + 1


_STORY = re.compile(r"\b(present|presenting|hpi|illness|complaint|problem|clinical|brief|interval|interim|physical|"
                    r"indications?|pertinent|data|gross findings)\b")
"""Words that make a "history" header the story of the present illness ("HISTORY AND CLINICAL DATA", "INTERIM
HISTORY", "HISTORY OF PRESENT PROBLEM"), not the past history ("PAST MEDICAL HISTORY", "MEDICAL HISTORY")."""


def section_kind(header: str) -> str:
    """current, history, family, skip (allergies, plans, instructions) or diagnosis."""
    h = " ".join(header.lower().split())
    if h in ("history", "hx"):
        return "current"  # a bare "HISTORY:" opens the story of the present illness (in consults, H&Ps)
    if "family" in h or re.search(r"\b(fhx|fh)\b", h):
        return "family"
    if re.search(r"\bhistory\b|\bhx\b", h) and _STORY.search(h) and "past" not in h:
        return "current"  # "HISTORY OF PRESENT ILLNESS", "HISTORY AND CLINICAL DATA", "INTERVAL HISTORY"
    if any(w in h for w in ("allerg", "instruction", "plan", "recommend", "follow", "disposition", "procedure",
                            "operation", "consent", "anesthesia")):
        return "skip"
    if any(w in h for w in ("past", "history", "pmh", "psh", "shx", "social", "habit", "medication", "meds", "risk",
                            "surgical")):
        return "history"
    if any(w in h for w in ("assessment", "impression", "diagnos", "problem")):
        return "diagnosis"
    return "current"


def section_spans(text: str) -> list[tuple[int, str]]:
    """``(start, kind)`` of each header-led section of a text (see :func:`section_kind`)."""
    return [(0, "current")] + [(m.start(), section_kind(m.group(1))) for m in _HEADER.finditer(text)]


def section_at(spans: list[tuple[int, str]], pos: int) -> str:
    """The kind of section a character offset falls in."""
    kind = "current"
    for s, k in spans:
        if s > pos:
            break
        kind = k
    return kind


@dataclass
class Mention:
    """A feature's words found in the text."""

    feature: int
    status: str  # present / absent
    context: str  # current / history / family / diagnosis
    text: str
    start: int
    end: int


def sentences(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, section kind)`` of each clause of the text."""
    kinds = section_spans(text)
    pos = 0
    for m in list(_SPLIT.finditer(text)) + [None]:
        end = m.start() if m else len(text)
        if end > pos:
            kind = [k for s, k in kinds if s <= pos][-1]
            yield pos, end, kind
        pos = m.end() if m else len(text)


def scan_text(text: str, features: Sequence, symptoms: bool = False) -> list[Mention]:
    """Find the words of knowledge features in a text, clause by clause.

    Args:
        text: the note or description.
        features: :class:`medlens.reasoning.common.Feature` records (their ``patterns`` are used).
        symptoms: also scan current symptoms (for short patient texts); antecedents, and qualities of a
            symptom ("radiating to the left arm"), are always scanned.
    """
    out: list[Mention] = []
    for s, e, kind in sentences(text):
        if kind == "skip":
            continue
        clause = text[s:e]
        fam = kind == "family" or bool(_FAMILY_HX.search(clause)) or (
            bool(_FAMILY_WORDS.search(clause)) and bool(_PAST.search(clause)))
        for i, f in enumerate(features):
            if not f.patterns or f.raw_value:
                continue
            if not f.antecedent and not f.history and not ((symptoms or "@" in f.key) and kind == "current"):
                continue
            if f.family_only and not fam:
                continue
            for rx in f.patterns:
                m = rx.search(clause)
                if not m:
                    continue
                if getattr(f, "unless", None) and any(u.search(clause) for u in f.unless):
                    break
                before = clause[:m.start()]
                neg = bool(_NEG.search(before[-60:]))
                ctx = "family" if fam else ("history" if kind == "history" else kind)
                out.append(Mention(i, "absent" if neg else "present", ctx, m.group(0), s + m.start(), s + m.end()))
                break
    return out


_UNSURE = re.compile(r"\b(rule out|ruled out|r/o|risk (of|for)|screen(ing)? for|evaluat(e|ion) (of|for)|concern(ed)? (of|for|about)|"
                     r"possible|possibly|probable|suspected|suspicion|suspicious|concerning|worrisome|versus|vs|worried|question of|"
                     r"differential|cannot (be )?(excluded|exclude|ruled out)|if|unless|prevent\w*)\b|\?",
                     re.I)


_DENIED = re.compile(r"\b(no|not|denies|denied|denying|without|negative for|never|none|nor|absence of|free of)\b", re.I)
_CONTRAST = re.compile(r"\b(?:but|however|although|though|except)\b", re.I)


_PAST_EVENT = re.compile(r"\b(history of|h/o|hx of|prior|previous(ly)?|recent(ly)?|status post|s/p|in the past|ago|"
                         r"last (year|month|week)|years? before|treated for|had (a |an )?)\b", re.I)


_TEST_NAME = re.compile(r"\W*(test|testing|swab|screen|panel|titers?|antigen|pcr|cultures?|vaccines?|vaccination|"
                        r"shots?|immunization|prophylaxis|protocol|precautions)\b", re.I)
_NEGATIVE_AFTER = re.compile(r"\b(negative|ruled out|unlikely|excluded|resolved)\b", re.I)


def named_current(text: str, patterns: Sequence[Sequence[re.Pattern]]) -> dict[int, str]:
    """Diseases the note's present story names in their own words as the patient's current condition ("she
    presented with shortness of breath and was found to have acute COPD exacerbation"): like
    :func:`named_conditions`, but only in the present-illness / course sections (not the past history), and
    not in a clause that places it in the past ("history of", "prior", "recently treated for", "s/p"), not as
    the name of a test or vaccine ("influenza test", "flu shot"), not negated after it ("... is negative", "... was
    ruled out")."""
    out: dict[int, str] = {}
    for s, e, kind in sentences(text):
        if kind != "current":
            continue
        clause = text[s:e]
        heads = list(_HEADER.finditer(clause))
        if heads:
            clause = clause[heads[-1].end():]  # not the header's words ("HISTORY OF PRESENT ILLNESS:")
        if _PAST_EVENT.search(clause):
            continue
        for d, words in named_conditions(clause, patterns).items():
            after = clause[clause.find(words) + len(words):]
            if _TEST_NAME.match(after) or _NEGATIVE_AFTER.search(after):
                continue  # "Influenza test is negative", "pneumonia was ruled out"
            out.setdefault(d, words)
    return out


def named_conditions(text: str, patterns: Sequence[Sequence[re.Pattern]]) -> dict[int, str]:
    """Conditions a note names as the patient's (``patterns``: per condition, its word patterns): index → the
    words. Read clause by clause in every section but allergies, plans, instructions and family history;
    not when negated before it in the clause ("no history of atrial fibrillation", "denies cough or
    tuberculosis"; a "but" ends the negation), said of a relative, or unsure ("rule out anemia", "risk of lung
    cancer", "possible GERD")."""
    out: dict[int, str] = {}
    for s, e, kind in sentences(text):
        if kind in ("skip", "family"):
            continue
        clause = text[s:e]
        if _FAMILY_HX.search(clause) or (_FAMILY_WORDS.search(clause) and _PAST.search(clause)):
            continue
        for d, pats in enumerate(patterns):
            if d in out:
                continue
            for rx in pats:
                m = rx.search(clause)
                if not m:
                    continue
                before = _CONTRAST.split(clause[:m.start()])[-1]
                if not _DENIED.search(before) and not _UNSURE.search(before[-40:]):
                    out[d] = m.group(0)
                    break
    return out


# -- lab values ----------------------------------------------------------------------------------
_NUMBER = r"(?P<value>\d{1,3}(?:\.\d+)?)"


def lab_threshold(below: dict, age: float | None, sex: str | None) -> float:
    """The lower limit of a ``low_lab`` for a patient: the youngest ``age_under_N`` bracket the age falls in,
    else the sex's value, else the lowest adult value (sex unknown)."""
    if age is not None:
        brackets = sorted((float(k.split("_")[-1]), v) for k, v in below.items() if k.startswith("age_under_"))
        for limit, v in brackets:
            if age < limit:
                return float(v)
    if sex in below:
        return float(below[sex])
    adult = [v for k, v in below.items() if not k.startswith("age_under_")]
    return float(min(adult or below.values()))


def low_lab_value(text: str, lab: dict, age: float | None = None, sex: str | None = None
                  ) -> tuple[float, float, str] | None:
    """The lowest value of a lab test the text reports, when it is below the patient's threshold.

    Reads "hemoglobin of 8.9", "Hgb 10.2 g/dL", "hemoglobin was stable at 10", "hemoglobin and hematocrit
    16 and 47" (the first number after the name, within a few words; values in g/L are divided by 10), in
    every section but allergies, instructions and plans.

    Args:
        text: the note.
        lab: the disease's ``low_lab`` entry (``words``, ``below``).
        age, sex: the patient's, for the threshold (see :func:`lab_threshold`).

    Returns:
        ``(value, threshold, words)`` or None when no value is below the threshold.
    """
    rx = re.compile(rf"\b(?:{lab['words']})\b(?:\W+(?!\d)[A-Za-z/&]+){{0,4}}?\W{{0,3}}{_NUMBER}(?!\s*%|\.\d|\d)", re.I)
    limit = lab_threshold(lab["below"], age, sex)
    spans = section_spans(text)
    best = None
    for m in rx.finditer(text):
        if section_at(spans, m.start()) == "skip":
            continue
        v = float(m.group("value"))
        if 30 <= v <= 250:  # g/L
            v /= 10
        if not 2 <= v <= 25 or _NEG.search(text[m.start():m.start("value")]):
            continue
        if v < limit and (best is None or v < best[0]):
            best = (v, limit, m.group(0))
    return best
