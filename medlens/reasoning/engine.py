"""The public reasoning API: findings → ranked differential with evidence, questions and suggestions.

::

    from medlens.reasoning import DiagnosisEngine

    engine = DiagnosisEngine.load()                        # default graph and rules
    findings = engine.findings(symptoms="fever, stiff neck, no rash")
    result = engine.diagnose(findings)                     # Differential (pydantic)
    print(result.diagnoses[0].name, result.questions[0].question)

    table = DiseaseSymptomTable.from_dir("disease-symptom-kb/")
    engine = DiagnosisEngine.load(table=table)             # naive Bayes over the table instead of HPO
    engine.diagnose(engine.findings(text="it burns when I pee"))

Two scorers: the phenotype scorer over the graph's HPO disease annotations
(:mod:`medlens.reasoning.phenotype`), or, when a disease–symptom table is
given, naive Bayes over it (:mod:`medlens.reasoning.tables`). Either way the
result lists, for each diagnosis, the findings that support it (with the
graph edge or table row and its frequency), those that contradict it, and
its expected findings that were not reported; the questions whose answers
would most change the ranking (expected information gain); and suggestions
from guideline rules and the table's precautions, each with provenance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from medlens.errors import Errors, InputError
from medlens.kg.store import KnowledgeGraph
from medlens.reasoning.common import (
    EMERGENCY_AT,
    HISTORY_FACTOR,
    LEAK,
    NOTE_EMERGENCY_AT,
    NOTE_HISTORY_FACTOR,
    NOTE_LEAD_AT,
    raise_for_red_flags,
    red_flag_rules,
    red_flags,
    NOTE_LEAK,
    NOTE_MAX_FINDINGS,
    TRIAGE_WORDS,
    URGENCY,
    CommonKnowledge,
    CommonScorer,
    demographic_effect,
    demographic_rules,
    triage,
)
from medlens.reasoning.acuity import acuity_rules, assess_acuity, care_severity, raise_for_acuity
from medlens.reasoning.findings import FindingExtractor, dedupe
from medlens.reasoning.models import (
    Diagnosis,
    Differential,
    Evidence,
    ExcludedDiagnosis,
    Finding,
    Patient,
    Provenance,
    Question,
    RiskFactor,
    Suggestion,
    Triage,
    TriageSign,
    VitalSign,
)
from medlens.reasoning.patient import (
    NEGATION,
    PAST_TIME,
    clause_start,
    lab_threshold,
    low_lab_value,
    named_conditions,
    named_current,
    read_patient,
    scan_text,
    section_at,
    section_spans,
)
from medlens.reasoning.phenotype import PhenotypeIndex, ScorerSettings
from medlens.reasoning.rules import LabValue, RuleEngine, RuleSet, load_rules
from medlens.reasoning.tables import DiseaseSymptomTable, NaiveBayesScorer, symptom_text

TABLE_PREFIX = "SYMPTOM:"
MODES = ("auto", "common", "rare")
SHORT_TEXT = 800
"""Texts up to this many characters are patient descriptions: their symptom words are also read literally."""
NO_DIFFERENTIAL = ("no diagnosis of the common-disease knowledge could be ranked from the input; a doctor should "
                   "assess it")
NOTE_HEADERS = 2
"""A text with at least this many clinical section headers ("SUBJECTIVE:", "HEENT:", "Lungs:") is a clinical note
however short it is (see :func:`is_note`)."""


@lru_cache(maxsize=1)
def ambiguous_abbreviations() -> frozenset[str]:
    """The abbreviations ``abbreviations.json`` marks ambiguous ("PE", "AF", "CP"), as written."""
    from medlens.kg.sources.lexicon import read_abbreviations

    return frozenset(a.abbr if a.case_sensitive else a.abbr.casefold() for a in read_abbreviations() if a.ambiguous)


def is_ambiguous_abbreviation(words: str | None) -> bool:
    """Whether the words are only an abbreviation marked ambiguous (as written, or in any case when the
    abbreviation is not case-sensitive)."""
    if not words:
        return False
    w = words.strip()
    return w in ambiguous_abbreviations() or w.casefold() in ambiguous_abbreviations()


@lru_cache(maxsize=1)
def _section_detector():
    from medlens.components.sections import SectionDetector

    return SectionDetector()


def chief_complaint_spans(text: str | None) -> list[tuple[int, int]]:
    """``(start, end)`` of the body of each chief-complaint / reason-for-visit section of a text (the
    ``chief_complaint`` headers of ``resources/en/sections.json``)."""
    if not text:
        return []
    headers = list(_section_detector().find_headers(text))
    out = []
    for i, (category, _start, _end, body) in enumerate(headers):
        if category == "chief_complaint":
            out.append((body, headers[i + 1][1] if i + 1 < len(headers) else len(text)))
    return out


_NEAR_MISS = re.compile(r"\b(?:going\s+to|gonna|about\s+to|felt\s+like|feel\s+like|feels\s+like|as\s+if|as\s+though|nearly|almost)"
                       r"\s+(?:\w+\s+){0,5}$", re.I)
"""Words before a symptom that make it a feeling of what might happen ("I felt like I was going to ... pass out")."""


def is_note(text: str | None) -> bool:
    """Whether a text is a clinical note (read with the note settings) rather than a patient's description.

    Longer than ``SHORT_TEXT`` characters, or with at least ``NOTE_HEADERS`` section headers of
    ``resources/en/sections.json``: a short SOAP note ("SUBJECTIVE: ... OBJECTIVE: ... Heart: Regular.
    Lungs: Clear.") is a note, and the semantic matcher, made for lay wording, would read its exam lines as
    symptoms ("Heart: Regular" as palpitations, "Heart rate is 80" as tachycardia).
    """
    if not text:
        return False
    if len(text) > SHORT_TEXT:
        return True
    headers = _section_detector().find_headers(text)
    return sum(1 for _ in zip(range(NOTE_HEADERS), headers)) >= NOTE_HEADERS


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def information_gain(prior: np.ndarray, likelihood: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected entropy drop (bits) over candidate diseases from asking about each feature.

    Args:
        prior: probabilities of the K candidate diseases (renormalized to 1).
        likelihood: ``[K, C]`` probability that each feature is present given each disease.

    Returns:
        ``(gain, p_yes)``, one value per feature.
    """
    p = prior / prior.sum()
    h = _entropy(p)
    joint_yes = p[:, None] * likelihood
    p_yes = joint_yes.sum(axis=0)
    joint_no = p[:, None] * (1 - likelihood)
    p_no = joint_no.sum(axis=0)

    def cond_entropy(joint: np.ndarray, marg: np.ndarray) -> np.ndarray:
        post = joint / np.where(marg > 0, marg, 1)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(post > 0, post * np.log2(np.where(post > 0, post, 1)), 0.0)
        return -terms.sum(axis=0)

    gain = h - p_yes * cond_entropy(joint_yes, p_yes) - p_no * cond_entropy(joint_no, p_no)
    return gain, p_yes


class DiagnosisEngine:
    """Ranks diagnoses for a patient's findings, with evidence.

    Args:
        kg: the knowledge graph.
        nlp: a medlens pipeline over ``kg`` (for text inputs); None loads the default pipeline on first use.
        table: a disease–symptom table; when given, diagnoses are ranked by naive Bayes over it
            instead of the HPO annotations.
        rules: guideline rules; None loads the shipped ``guideline_rules.json``.
        settings: phenotype scorer weights.
        alpha: smoothing of the table scorer (add-alpha, default 1).
        semantic: match the clauses of text inputs to symptom concepts by meaning as well as by the lay
            lexicon and the pipeline (:mod:`medlens.reasoning.semantic`; default True).
    """

    def __init__(self, kg: KnowledgeGraph, nlp: Language | None = None, table: DiseaseSymptomTable | None = None,
                 rules: RuleSet | None = None, settings: ScorerSettings = ScorerSettings(), alpha: float = 1.0,
                 common: CommonKnowledge | None = None, mode: str = "auto",
                 semantic: bool = True) -> None:
        if mode not in MODES:
            raise InputError(Errors.E1370.format(value=mode, opts=", ".join(MODES)))
        self.kg = kg
        self.mode = mode
        self.semantic = semantic
        self._common = common
        self.common_settings: dict[str, float] = {}
        self._feature_cache: dict[tuple, list[int]] = {}
        self._nlp = nlp
        self.table = table
        self.settings = settings
        self._index: PhenotypeIndex | None = None
        self._extractor: FindingExtractor | None = None
        self.nb = NaiveBayesScorer(table, alpha=alpha) if table is not None else None
        self._anc_cache: dict[str, tuple[str, ...]] = {}
        self.rule_engine = RuleEngine(rules or load_rules(), ancestors=self._ancestors)
        self._symptom_concepts: dict[int, set[str]] | None = None
        self._linked = False

    @classmethod
    def load(cls, kg_path: str | Path | None = None, table: DiseaseSymptomTable | str | Path | None = None,
             rules: str | Path | RuleSet | None = None, **kwargs) -> DiagnosisEngine:
        """An engine over the graph at ``kg_path`` (default location if None).

        Args:
            kg_path: knowledge graph file.
            table: a table: a folder holding ``dataset.csv`` and its companion files (ranked by its own naive
                Bayes), or a SymCAT.json / symcat-474-symptoms.csv / Columbia disease_symptom_pairs.csv file
                (loaded as common-disease knowledge in place of DDXPlus).
            rules: a rules file path or a loaded :class:`RuleSet`; None for the shipped rules.
            **kwargs: passed to the constructor (``settings``, ``alpha``, ``mode``, ``common``, ``semantic``).
        """
        from medlens.pipeline import shared_graph

        kg = shared_graph(kg_path)
        if table is not None and not isinstance(table, (DiseaseSymptomTable, CommonKnowledge)):
            table = load_table(table)
        if isinstance(table, CommonKnowledge):
            kwargs["common"], table = table, None
        if rules is not None and not isinstance(rules, RuleSet):
            rules = load_rules(rules)
        return cls(kg, table=table, rules=rules, **kwargs)

    # -- lazily built parts -------------------------------------------------------------
    @property
    def nlp(self) -> Language:
        if self._nlp is None:
            import medlens

            self._nlp = medlens.load(kg_path=str(self.kg.path))
        return self._nlp

    @property
    def index(self) -> PhenotypeIndex:
        if self._index is None:
            self._index = PhenotypeIndex.from_graph(self.kg)
        return self._index

    @property
    def common(self) -> CommonKnowledge:
        """The common-disease knowledge (DDXPlus unless a table was given)."""
        if self._common is None:
            self._common = CommonKnowledge.ddxplus()
        return self._common

    @property
    def extractor(self) -> FindingExtractor:
        if self._extractor is None:
            self._extractor = FindingExtractor(self.nlp, self.kg, semantic=self.semantic)
        return self._extractor

    def _ancestors(self, cid: str) -> tuple[str, ...]:
        if cid not in self._anc_cache:
            if self._index is not None and cid in self._index.term_index:
                idx = self._index
                self._anc_cache[cid] = tuple(idx.terms[a] for a in idx.ancestors(idx.term_index[cid]))
            else:
                self._anc_cache[cid] = (cid, *self.kg.ancestors(cid))
        return self._anc_cache[cid]

    # -- findings ------------------------------------------------------------------------
    def findings(self, text: str | None = None, symptoms: str | None = None, hpo: Iterable[str] | None = None,
                 json_items: str | Sequence | None = None, doc: Doc | None = None) -> list[Finding]:
        """Collect findings from any mix of inputs (see :class:`FindingExtractor`).

        Clinical notes (:func:`is_note`: longer than ``SHORT_TEXT`` characters, or with section headers): the semantic matcher is
        left out for them (on the mtsamples dev notes it cost 6 points of top-1 and 11 of triage: clinical
        wording is coded by the pipeline, and clause-level similarity adds loose matches). Shorter texts are
        patient texts: "my 4 year old son has a fever" is the son's fever, not family history.
        """
        phrases = self._table_phrases()
        out: list[Finding] = []
        if doc is not None:
            out += self.extractor.from_doc(doc)
        if text:
            note = is_note(text)
            out += self.extractor.from_text(text, phrases, semantic=not note, patient_text=not note)
        if symptoms:
            out += self.extractor.from_symptoms(symptoms, phrases)
        if hpo:
            out += self.extractor.from_hpo(hpo)
        if json_items is not None:
            out += self.extractor.from_json(json_items)
        return dedupe(out)

    # -- diagnosis -----------------------------------------------------------------------
    def diagnose(self, findings: Sequence[Finding] | Doc | str, labs: Sequence[LabValue | str] = (), top: int = 10,
                 questions: int = 5, *, text: str | None = None, patient: Patient | None = None,
                 mode: str | None = None) -> Differential:
        """The ranked differential for a patient.

        Args:
            findings: findings, an analyzed Doc, or free text.
            labs: lab values (``LabValue`` or ``"potassium=6.8 mmol/L"``) for the guideline rules (a low
                hemoglobin also shows anemia to the common-disease scorer).
            top: how many diagnoses to return with their evidence (all candidates are ranked).
            questions: how many next questions to propose.
            text: the note or description the findings came from (for age, sex and risk factors);
                taken from ``findings`` when that is a text or a Doc.
            patient: age and sex when known (overrides what the text says).
            mode: ``auto`` (common diseases for notes and patient text, the rare-disease phenotype
                ranking for HPO input), ``common`` or ``rare``; None uses the engine's mode.

        Raises:
            InputError: no usable input (the message says what was given), or an unknown mode.
        """
        doc = None
        if isinstance(findings, str):
            text = findings if text is None else text
            findings = self.findings(text=findings)
        elif isinstance(findings, Doc):
            doc = findings
            text = findings.text if text is None else text
            findings = self.findings(doc=findings)
        if top < 1:
            raise InputError(Errors.E1371.format(value=top))
        mode = mode or self.mode
        if mode not in MODES:
            raise InputError(Errors.E1370.format(value=mode, opts=", ".join(MODES)))
        labs = [lab if isinstance(lab, LabValue) else LabValue.parse(lab) for lab in labs]
        if patient is None:
            patient = read_patient(text or "")
        elif text and (patient.age is None or patient.sex is None):
            read = read_patient(text)
            patient = patient.model_copy(update={k: getattr(read, k) for k in ("age", "sex", "age_text", "sex_text")
                                                 if getattr(patient, k) is None})
        counted = [f for f in findings if f.counted]
        excluded = [f for f in findings if not f.counted]
        if self.table is not None:
            result = self._diagnose_table(counted, top, questions)
            result.mode = "table"
        else:
            if mode == "auto":
                hpo_only = bool(counted) and all(f.origin == "hpo" for f in counted) and not text
                mode = "rare" if hpo_only else "common"
            if mode == "rare":
                result = self._diagnose_phenotype(counted, top, questions, patient)
                result.mode = "rare"
                result.knowledge = ["hpo: HPO annotations of OMIM/Orphanet/DECIPHER rare diseases (phenotype scorer)"]
            else:
                result = self._diagnose_common(list(findings), text, patient, top, questions, labs)
        result.patient = patient if (patient.age is not None or patient.sex is not None) else None
        routed = {r.finding for r in result.risk_factors if r.finding}
        result.excluded_findings = [f for f in excluded if f.id not in routed]
        result.suggestions = self.rule_engine.evaluate(counted, labs) + result.suggestions
        result.drug_reactions = self._drug_reactions(doc, text, counted)
        own = [r for r in result.drug_reactions if r.knowledge == "read from this text"]
        if own and result.triage is not None and result.triage.level == "self-care" and not is_note(text):
            # a possible reaction to a drug the patient takes is for the prescriber or a pharmacist to judge (stop it,
            # change it, record an allergy): not self-care, whatever the ranked diagnoses; a patient's own text only
            # (a note's "vomiting from morphine" is already the clinician's; on the dev notes it made 2 levels wrong)
            r = own[0]
            why = f"soon because of a possible reaction to {r.drug_text or r.drug_name} ({r.finding_text or r.finding_name})"
            result.triage = result.triage.model_copy(update={
                "level": "soon", "advice": TRIAGE_WORDS["soon"], "reason": why, "route": "drug reaction"})
        return result

    def _drug_reactions(self, doc: Doc | None, text: str | None, findings: list[Finding]):
        """Drugs of the text that may have caused a present finding: read from the text itself (a stated adverse
        event; a finding after a drug was started, see :mod:`medlens.reasoning.reactions`), then those the grown
        graph says can cause one (learned from text; see :mod:`medlens.reasoning.learned`)."""
        from medlens.kg.grown import open_grown
        from medlens.reasoning.learned import drug_reactions, drugs_of
        from medlens.reasoning.reactions import stated_reactions, text_drugs, timing_reactions

        if not any(f.status == "present" for f in findings):
            return []
        rw = None
        if doc is None and text and self._extractor is not None and self._extractor.last is not None \
                and self._extractor.last[0] == text:
            _, doc, rw = self._extractor.last
        out = []
        if doc is not None:
            out += stated_reactions(doc._.adverse_events, findings, rw)
            seen = {(r.drug, r.finding) for r in out}
            out += [r for r in timing_reactions(text or doc.text, text_drugs(doc, rw), findings)
                    if (r.drug, r.finding) not in seen]
        if open_grown(self.kg.path) is None:
            return out
        if doc is None:
            if not text:
                return out
            doc = self.nlp(text)
        return out + drug_reactions(self.kg, drugs_of(doc), findings)

    # -- common-disease scorer ---------------------------------------------------------------
    def _link_table_features(self) -> None:
        """Give the features of a user table concept ids, by running their names through the pipeline."""
        if self._linked:
            return
        self._linked = True
        k = self.common
        if k.shipped:
            return
        for f in k.features:
            if f.concepts:
                continue
            found = [x for x in self.extractor.from_text(f.label) if x.start is not None]
            if found:
                x = max(found, key=lambda x: x.end - x.start)
                if (x.end - x.start) * 2 >= len(f.label):
                    f.concepts = frozenset(x.hpo or x.concepts[:1])

    def feature_hits(self, f: Finding) -> list[int]:
        """Indices of the knowledge's features a finding reaches (see :mod:`medlens.reasoning.common`).

        A present finding reaches features mapped to its concepts or to an ancestor of its HPO terms
        ("substernal chest pain" → chest pain → pain), and features whose words it contains; an absent
        one only features at or below it ("no pain" is no chest pain; "no chest pain" is not "no pain").
        """
        k = self.common
        key = (f.id, f.text, f.name, f.status == "absent", k.name)
        if key in self._feature_cache:
            return self._feature_cache[key]
        prefix = k.name.upper() + ":"
        if f.id.upper().startswith(prefix) and f.id[len(prefix):] in k.feature_index:
            hits = [k.feature_index[f.id[len(prefix):]]]
        else:
            ids = {f.id, *f.concepts, *f.hpo}
            absent = f.status == "absent"
            up: set[str] = set(ids)
            if not absent:
                for h in list(ids):
                    if h.startswith(("HP:", "ICD10CM:")):
                        up.update(self._ancestors(h))
            words = [w.lower() for w in ([f.text] if f.text else [f.name]) if w]
            hits = []
            for i, feat in enumerate(k.features):
                if feat.raw_value:
                    continue
                hit = False
                if feat.concepts:
                    if absent and (feat.antecedent or feat.history):
                        hit = bool(feat.concepts & ids)  # "denies headache" is not "no history of migraine"
                    elif absent:
                        hit = any(c in ids or ids & set(self._ancestors(c)) for c in feat.concepts)
                    else:
                        hit = bool(feat.concepts & up)
                if not hit and feat.patterns:
                    hit = any((rx.fullmatch(w.strip()) if absent else rx.search(w)) for rx in feat.patterns for w in words)
                if hit:
                    hits.append(i)
        if len(self._feature_cache) > 50_000:
            self._feature_cache.clear()
        self._feature_cache[key] = hits
        return hits

    def _stated(self, f: Finding) -> list[int]:
        """Diseases a present, current finding names (a stated diagnosis).

        A finding states a disease when its words match the disease's name patterns, or when one of its
        ICD-10-CM codes is the disease's code or a code below it, or a subcategory above it (``J45.90`` states
        ``J45.901``). Sibling codes name other forms (``I20.0`` unstable angina is not ``I20.9`` stable angina;
        the disease's name patterns cover the common wordings), and a shared three-character category is not
        enough (``R60.9`` edema is not ``R60.0`` localized edema, ``F41.9`` anxiety is not ``F41.0`` panic
        attack, ``J44.9`` COPD is not ``J44.1`` its exacerbation); symptom and sign codes
        (chapter R) and code ranges never state a disease, nor does the code of a finding that is one of the
        knowledge's symptoms ("scratchy throat", coded ``J02.9``, is a sore throat, not pharyngitis).
        When the finding's own words name a disease, only the diseases they name count (the linked concept's
        name and codes are the linker's reading: "lupus pneumonitis", linked to Pneumonia, states lupus only);
        an abbreviation that ``abbreviations.json`` marks ambiguous states a disease only by the disease's own
        words ("PE" of "PE tubes" is no pulmonary embolism).
        """
        k = self.common
        written = [d for d in range(len(k.ids)) if f.text and any(rx.search(f.text) for rx in k.stated[d])]
        if written or is_ambiguous_abbreviation(f.text):
            # the words as written outrank the linked concept: "lupus pneumonitis" names lupus, whatever the
            # linker's "Pneumonia"; an ambiguous abbreviation alone ("PE": pulmonary embolism, physical exam,
            # pressure-equalization tubes) states only what the disease's own words say ("ACS", "CAP")
            return written
        out = []
        codes = {c.split(":", 1)[1] for c in f.concepts if c.startswith("ICD10CM:")}
        codes = {c for c in codes if "-" not in c and not c.startswith("R")}
        if codes and any(not (k.features[i].antecedent or k.features[i].history) for i in self.feature_hits(f)):
            codes = set()
        words = [w for w in (f.text, f.name) if w]
        for d in range(len(k.ids)):
            code = k.icd10cm[d]
            if code and any(c.startswith(code) or (len(c) > 3 and code.startswith(c)) for c in codes):
                out.append(d)
            elif any(rx.search(w) for rx in k.stated[d] for w in words):
                out.append(d)
        return out

    def case_features(self, findings: Sequence[Finding], text: str | None
                      ) -> tuple[dict[int, Finding | None], dict[int, Finding | None], list[int], list[int],
                                 list[Finding], list[Finding], list[RiskFactor]]:
        """``(present, absent, stated, known, used, unmapped, risk_factors)`` of a case for the common scorer:
        feature indices present / absent (with the finding behind each, None when read from the words), diseases
        stated as current, chronic diseases known from the history, findings used and not covered, risk factors."""
        k = self.common
        self._link_table_features()
        present: dict[int, Finding | None] = {}
        absent: dict[int, Finding | None] = {}
        stated: list[int] = []
        known: list[int] = []
        used, unmapped = [], []
        risks: dict[int, RiskFactor] = {}

        def put(i: int, status: str, f: Finding | None) -> None:
            if status == "present":
                present.setdefault(i, f)
                absent.pop(i, None)
            elif i not in present:
                absent.setdefault(i, f)

        kinds = section_spans(text) if text else []
        for f in findings:
            kind = section_at(kinds, f.start) if kinds and f.start is not None else "current"
            if kind == "skip":
                continue
            if kind in ("history", "family") and f.status == "present":
                f = f.model_copy(update={"status": "historical" if kind == "history" else "family"})
            hits = self.feature_hits(f)
            if f.counted and f.status == "present" and f.origin != "hpo":
                stated += [d for d in self._stated(f) if d not in stated]
            if f.status == "historical" or (f.counted and f.status == "present"):
                words = [w for w in (f.text, f.name) if w]
                known += [d for d, pats in enumerate(k.chronic) if d not in known and any(rx.search(w) for rx in pats for w in words)]
            mapped = False
            for i in hits:
                feat = k.features[i]
                ante = feat.antecedent or feat.history
                if f.status == "family":
                    if not feat.family:
                        continue
                elif feat.family_only:
                    continue
                elif f.status == "historical":
                    if not ante:
                        continue
                elif not f.counted:
                    continue
                status = "absent" if f.status == "absent" else "present"
                put(i, status, f)
                mapped = True
                if ante:
                    risks.setdefault(i, RiskFactor(id=feat.key, name=feat.label, status=status,
                                                   context={"historical": "history", "family": "family"}.get(f.status, "current"),
                                                   text=f.text, origin="finding", finding=f.id))
            if f.counted:
                (used if mapped or (f.status == "present" and self._stated(f)) else unmapped).append(f)
        if text and is_note(text) and k.chronic:
            # a chronic disease the note names is a known condition, also where the recognizer did not code it
            # ("underwent lobectomy for stage IA non-small cell lung cancer")
            known += [d for d in named_conditions(text, k.chronic) if d not in known]
        if text and is_note(text):
            # an acute disease the present story names in its own words is stated, also where the recognizer
            # coded only a part of it ("was found to have acute COPD exacerbation": COPD)
            acute = [pats if (not (k.chronic and k.chronic[d]) or (k.underlying and k.underlying[d])) else []
                     for d, pats in enumerate(k.stated)]
            stated += [d for d in named_current(text, acute) if d not in stated]
        if text:
            for m in scan_text(text, k.features, symptoms=not is_note(text)):
                feat = k.features[m.feature]
                if m.context == "family" and not feat.family:
                    continue
                # the pipeline's reading of a finding (its assertion, with the scope of its cue) outranks the
                # words alone: "I don't have any trouble breathing" stays absent, whatever a word scan says
                if m.feature in present or m.feature in absent and (m.status == "absent" or absent[m.feature] is not None):
                    continue
                put(m.feature, m.status, None)
                if feat.antecedent or feat.history:
                    risks.setdefault(m.feature, RiskFactor(id=feat.key, name=feat.label, status=m.status,
                                                           context=m.context, text=m.text, origin="text"))
        for a, b in k.same_as.items():
            # two encodings of one symptom count once (a present reading outranks an absent one)
            if a in present or b in present:
                keep, drop = (a, b) if a in present else (b, a)
                present.pop(drop, None)
                absent.pop(drop, None)
                absent.pop(keep, None)
            elif a in absent:
                absent.pop(b, None)
        for i, r in list(risks.items()):
            if r.status == "absent" and i in present:
                risks[i] = r.model_copy(update={"status": "present"})
        return present, absent, stated, known, used, unmapped, list(risks.values())

    def chief(self, findings: Sequence[Finding], text: str | None) -> list[int]:
        """Diseases the chief complaint / reason for visit names ("REASON FOR CONSULTATION: New diagnosis of
        non-small cell lung cancer"): by a present finding there that states the disease, or by the disease's
        words in it (not negated)."""
        spans = chief_complaint_spans(text)
        if not spans:
            return []
        k = self.common
        out: list[int] = []
        for f in findings:
            if f.start is not None and f.status == "present" and f.counted and f.origin != "hpo" \
                    and any(a <= f.start < b for a, b in spans):
                out += [d for d in self._stated(f) if d not in out]
        for a, b in spans:
            part = text[a:b]
            for d, pats in enumerate(k.stated):
                if d in out:
                    continue
                for rx in pats:
                    m = rx.search(part)
                    if m and not NEGATION.search(part[max(0, m.start() - 60):m.start()]):
                        out.append(d)
                        break
        return out

    def measured(self, text: str | None, patient: Patient, labs: Sequence[LabValue] = ()) -> dict[int, str]:
        """Diseases an abnormal result shows (the knowledge's ``low_lab``: a hemoglobin below the WHO threshold
        shows anemia), from the lab values given and the values the text reports: disease index → the words."""
        k = self.common
        out: dict[int, str] = {}
        for d, lab in enumerate(k.low_labs):
            if not lab:
                continue
            limit = lab_threshold(lab["below"], patient.age, patient.sex)
            given = [x for x in labs if re.fullmatch(lab["words"], x.test, re.I) or x.test == lab.get("test")]
            low = [x for x in given if x.value < limit]
            if low:
                x = min(low, key=lambda x: x.value)
                out[d] = f"{x.test} {x.value:g} (below {limit:g} {lab.get('unit', '')})".replace(" )", ")")
            elif text and not given:
                hit = low_lab_value(text, lab, patient.age, patient.sex)
                if hit:
                    out[d] = f"{hit[2]} (below {hit[1]:g} {lab.get('unit', '')})".replace(" )", ")")
        return out

    def _diagnose_common(self, findings: list[Finding], text: str | None, patient: Patient, top: int,
                         n_questions: int, labs: Sequence[LabValue] = ()) -> Differential:
        k = self.common
        settings = dict(self.common_settings)
        # a note mentions much the knowledge does not model (comorbidities, procedures): a finding a disease's
        # knowledge does not list weighs less against it than in a patient's short description
        note = is_note(text)
        settings.setdefault("leak", NOTE_LEAK if note else LEAK)
        settings.setdefault("max_findings", NOTE_MAX_FINDINGS if note else None)
        if note:
            settings.setdefault("history_factor", NOTE_HISTORY_FACTOR)
        emergency_at = settings.pop("emergency_at", NOTE_EMERGENCY_AT if note else EMERGENCY_AT)
        lead_at = settings.pop("lead_at", NOTE_LEAD_AT if note else None)
        # red flags set the triage of a patient's own description; a note is written after a clinician's
        # assessment, and its triage follows the diagnoses (on the mtsamples dev notes red flags made 7 right
        # levels wrong and 2 wrong ones right: melena in a known anemia, hemoptysis in a treated pneumonia)
        use_flags = settings.pop("red_flags", not note)
        # the patient's acuity (vital signs, signs in words, age, pregnancy, immunity, frailty) raises the level of
        # notes and patient texts alike: a vital sign is measured now, whoever wrote the text
        use_acuity = settings.pop("acuity", True)
        settings_care = settings.pop("care", True)
        scorer = CommonScorer(k, **settings)
        present, absent, stated, known, used, unmapped, risks = self.case_features(findings, text)
        result = Differential(method="common", mode="common", findings=used, unmapped=unmapped, candidates=len(k.ids),
                              risk_factors=risks,
                              knowledge=[f"{k.name}: {k.title} ({k.license})"])
        measured = self.measured(text, patient, labs)
        if not present and not absent and not stated and not measured:
            if any(s is not None for s in k.severity) and (text or findings):
                # nothing to rank is no reassurance: what the input says is not covered by the knowledge
                result.triage = self._triage("soon", NO_DIFFERENTIAL, "diagnoses", text, patient, use_acuity)
            return result
        # an acute disease known only through its underlying chronic one (asthma → an asthma attack) is a risk
        said = [w for f in findings if f.status in ("historical", "present") for w in (f.text, f.name) if w]
        underlying = [d for d in known if k.underlying and k.underlying[d] and not any(
            rx.search(w) for rx in k.stated[d] for w in said)]
        chief = self.chief(findings, text)
        scores, excl, factors = scorer.score(list(present), list(absent), stated, patient.age, patient.sex, known=known,
                                             measured=list(measured), underlying=underlying, chief=chief)
        probs = scorer.probabilities(scores)
        for d, why in excl.items():
            result.excluded_diagnoses.append(ExcludedDiagnosis(id=k.ids[d], name=k.names[d], reason=why))
        order = [int(d) for d in np.argsort(-scores, kind="stable") if np.isfinite(scores[d])]
        shown = order[:top]
        for d in order[top:]:
            if k.severity[d] is not None and k.severity[d] <= 2 and probs[d] >= 0.05:
                shown.append(d)
        # the diagnosis route triages with the level each diagnosis calls for (acuity.json's "care"), which for a
        # few departs from DDXPlus's severity (stable angina: a chest-pain clinic within days, not an emergency)
        tsev = care_severity(k.severity, k.ids, patient.age) if k.shipped and settings_care else list(k.severity)
        base = np.log(k.p.mean(axis=0))
        base_q = np.log1p(-k.p.mean(axis=0))
        for rank, d in enumerate(shown, 1):
            sup, con = [], []
            for i, f in present.items():
                w = float(k.log_p[d, i] - base[i])
                (sup if w > 0 else con).append(self._common_ev(f, i, d, w, "present"))
            for i, f in absent.items():
                w = float(k.log_q[d, i] - base_q[i])
                (sup if w > 0 else con).append(self._common_ev(f, i, d, w, "absent"))
            if d in known and d not in stated:
                sup.insert(0, Evidence(finding=k.ids[d], finding_name=k.names[d], finding_status="present",
                                       relation="known_condition", term=k.ids[d], term_name=k.names[d], match="exact",
                                       weight=round(float(np.log(HISTORY_FACTOR if d in underlying else scorer.history_factor)), 4),
                                       source=k.name))
            if d in measured and d not in stated:
                sup.insert(0, Evidence(finding=k.ids[d], finding_name=k.names[d], finding_status="present",
                                       text=measured[d], relation="abnormal_result", term=k.ids[d], term_name=k.names[d],
                                       match="exact", weight=round(float(np.log(scorer.lab_factor)), 4), source=k.name))
            if d in stated:
                sup.insert(0, Evidence(finding=k.ids[d], finding_name=k.names[d], finding_status="present",
                                       relation="stated_diagnosis", term=k.ids[d], term_name=k.names[d], match="exact",
                                       weight=round(float(np.log(scorer.stated_factor)), 4), source=k.name))
            if d in chief:
                sup.insert(0, Evidence(finding=k.ids[d], finding_name=k.names[d], finding_status="present",
                                       relation="chief_complaint", term=k.ids[d], term_name=k.names[d], match="exact",
                                       weight=round(float(np.log(scorer.chief_factor)), 4), source=k.name))
            sup.sort(key=lambda e: -e.weight)
            con.sort(key=lambda e: e.weight)
            asked = set(present) | set(absent)
            mis = [self._common_missing(int(i), d) for i in np.argsort(-k.p[d])
                   if k.p[d, i] >= 0.5 and int(i) not in asked and not k.features[i].raw_value
                   and not k.features[i].antecedent][:5]
            sev = k.severity[d]
            fac = {"prior": round(float(k.prior[d]), 5)}
            if factors[d] != 1.0:
                fac["age_sex"] = round(float(factors[d]), 3)
            result.diagnoses.append(Diagnosis(
                rank=rank, id=k.ids[d], name=k.names[d], source=k.name, knowledge=k.name, score=round(float(scores[d]), 4),
                probability=round(float(probs[d]), 4), supporting=sup, contradicting=con, missing=mis,
                icd10cm=k.icd10cm[d], icd10cm_name=self._icd_name(k.icd10cm[d]), severity=sev,
                urgency=URGENCY.get(tsev[d]) if tsev[d] else None, cant_miss=bool(sev is not None and sev <= 2), factors=fac))
        if any(s is not None for s in k.severity):
            # a can't-miss diagnosis counts for the emergency level only when a current symptom supports it
            # (risk factors alone, as in a follow-up visit, do not send the patient to the emergency department)
            sym = [i for i in present if not (k.features[i].antecedent or k.features[i].history)]
            supported = np.array([d in stated or d in measured or any(k.p[d, i] >= 0.3 for i in sym) for d in range(len(k.ids))])
            # in a note, the conditions it establishes as current (named as a current diagnosis, or shown by a
            # result) count too; a chronic disease of the past history (GERD, atrial fibrillation on warfarin) is
            # not by itself a reason to see a doctor about this visit
            named = [d for d in dict.fromkeys([*stated, *measured]) if d not in underlying] if note else []
            level, why = triage(probs, tsev, emergency_at=emergency_at, supported=supported, lead_at=lead_at,
                                named=named, names=k.names)
            route = "diagnoses"
            if use_flags and k.shipped:
                # a red flag (syncope, coughing blood, stridor, swollen lips, chest pain on exertion ...) among the
                # current findings sets the least level, whatever the ranking
                rules = red_flag_rules(known=frozenset(f.key for f in k.features))
                now = [i for i in sym if not self._said_as_past(text, present[i], i)
                       and not self._only_near(text, present[i], i)]
                raised = raise_for_red_flags(level, why, red_flags((k.features[i].key for i in now), rules))
                if raised[0] != level:
                    level, why, route = *raised, "red flag"
            result.triage = self._triage(level, why, route, text, patient, use_acuity)
        skipped = {i for f in findings if f.status == "uncertain" for i in self.feature_hits(f)}
        result.questions = self._common_questions(order[:10], probs, set(present) | set(absent) | skipped, n_questions)
        # a syndrome may fit better than any common disease: offer the rare-disease ranking beside
        cur = [f for f in used + unmapped if f.status == "present" and f.counted]
        unexplained = [f for f in unmapped if f.status == "present" and f.hpo]
        if len(unexplained) >= 3 and len(unexplained) > len(cur) / 2:
            rare = self._diagnose_phenotype([f for f in used + unmapped], 5, 0, patient)
            result.rare = rare.diagnoses
            result.knowledge.append("hpo: HPO annotations of rare diseases (offered beside: most findings are not "
                                    "covered by the common-disease knowledge)")
        return result

    @staticmethod
    def _triage(level: str, why: str, route: str, text: str | None, patient: Patient, use_acuity: bool) -> Triage:
        """The triage of the diagnosis route (``level``, ``why``), raised by the patient's acuity when that calls
        for more (``medlens/resources/en/common/acuity.json``), with the signs and vital signs read."""
        if not use_acuity or not text:
            return Triage(level=level, advice=TRIAGE_WORDS[level], reason=why, route=route)
        acuity = assess_acuity(text, patient.age)
        raised, raised_why = raise_for_acuity(level, why, acuity)
        rules = acuity_rules()
        return Triage(
            level=raised, advice=TRIAGE_WORDS[raised], reason=raised_why, route="acuity" if raised != level else route,
            signs=[TriageSign(kind=x.kind, name=x.name, level=x.level, why=x.why) for x in acuity.signs],
            vitals=[VitalSign(vital=v.vital, value=v.value, unit=rules.vitals[v.vital].unit, text=v.text)
                    for v in acuity.vitals],
            news2=acuity.score)

    def _only_near(self, text: str | None, f: Finding | None, i: int) -> bool:
        """Whether a finding is only near the red flag's symptom: felt as about to happen ("I felt like I was going
        to pass out": no faint happened), or a name the knowledge's own words for the feature exclude ("sneezing
        fits" linked to seizure, which the feature's patterns rule out)."""
        if not text or f is None or f.start is None:
            return False
        if _NEAR_MISS.search(text[clause_start(text, f.start):f.start]):
            return True
        pats = self.common.features[i].patterns
        return bool(pats and f.text and re.search(r"[a-z]", f.text, re.I) and f.origin == "text"
                    and not any(rx.search(f.text) for rx in pats))

    def _said_as_past(self, text: str | None, f: Finding | None, i: int) -> bool:
        """Whether the sentence that says a finding places it in the past ("I fainted last year"): such a finding
        is no red flag (it may still count for the ranking)."""
        if not text:
            return False
        k = self.common
        starts = [f.start] if f is not None and f.start is not None else [
            m.start for m in scan_text(text, k.features, symptoms=True) if m.feature == i]
        for start in starts:
            s = clause_start(text, start)
            e = min([x for x in (text.find(c, start) for c in ".;!?\n") if x >= 0] or [len(text)])
            if not PAST_TIME.search(text[s:e]):
                return False
        return bool(starts)

    def _icd_name(self, code: str | None) -> str | None:
        if not code:
            return None
        c = self.kg.concept("ICD10CM:" + code)
        return c.name if c else None

    def _common_ev(self, f: Finding | None, i: int, d: int, weight: float, status: str) -> Evidence:
        k = self.common
        feat = k.features[i]
        return Evidence(finding=f.id if f else f"{k.name.upper()}:{feat.key}", finding_name=f.name if f else feat.label,
                        finding_status=status, text=f.text if f else None, relation="p_finding_given_disease",
                        term=f"{k.name.upper()}:{feat.key}", term_name=feat.label, match="exact",
                        frequency=round(float(k.p[d, i]), 4), weight=round(weight, 4), source=k.name)

    def _common_missing(self, i: int, d: int) -> Evidence:
        k = self.common
        feat = k.features[i]
        fid = f"{k.name.upper()}:{feat.key}"
        return Evidence(finding=fid, finding_name=feat.label, finding_status="absent", relation="p_finding_given_disease",
                        term=fid, term_name=feat.label, match="missing", frequency=round(float(k.p[d, i]), 4), source=k.name)

    def _common_questions(self, top_d: list[int], probs: np.ndarray, asked: set[int], n: int) -> list[Question]:
        k = self.common
        if n <= 0 or len(top_d) < 2:
            return []
        cands = [i for i, f in enumerate(k.features) if i not in asked and not f.raw_value and k.listed[top_d, i].any()]
        if not cands:
            return []
        like = k.p[np.ix_(top_d, cands)]
        gain, p_yes = information_gain(probs[top_d], like)
        out = []
        for j in np.argsort(-gain)[:n]:
            f = k.features[cands[j]]
            q = f.question if not f.parent and "@" not in f.key else f"{f.question} ({f.label})"
            out.append(Question(id=f"{k.name.upper()}:{f.key}", name=f.label, question=q,
                                information_gain=round(float(gain[j]), 4), probability_yes=round(float(p_yes[j]), 4),
                                diseases=[k.names[d] for d in top_d if k.p[d, cands[j]] >= 0.5]))
        return out

    # -- phenotype scorer ------------------------------------------------------------------
    def _diagnose_phenotype(self, findings: list[Finding], top: int, n_questions: int,
                            patient: Patient | None = None) -> Differential:
        idx = self.index
        used, unmapped = [], []
        present: list[int] = []
        absent: list[int] = []
        for f in findings:
            terms = [idx.term_index[h] for h in f.hpo if h in idx.term_index]
            if not terms:
                unmapped.append(f)
                continue
            used.append(f)
            (present if f.status == "present" else absent).append(terms[0])
        result = Differential(method="phenotype", mode="rare", findings=used, unmapped=unmapped, candidates=len(idx.diseases),
                              knowledge=["hpo: HPO annotations of OMIM/Orphanet/DECIPHER rare diseases (phenotype scorer)"])
        if not present and not absent:
            return result
        scores = idx.score(present, absent, self.settings)
        if patient is not None and (patient.age is not None or patient.sex is not None):
            rules = demographic_rules()
            for d in np.argsort(-scores, kind="stable")[:max(200, top * 5)]:
                name = idx.disease_names[d]
                f, why = demographic_effect(idx.diseases[d], name, None, patient.age, patient.sex, rules)
                if why:
                    scores[d] = -np.inf
                    result.excluded_diagnoses.append(ExcludedDiagnosis(id=idx.diseases[d], name=name, reason=why))
            scores = np.where(np.isfinite(scores), scores, scores[np.isfinite(scores)].min() - 100.0)
        probs = idx.probabilities(scores, self.settings.temperature)
        order = np.argsort(-scores, kind="stable")[:top]
        edges = self._edges([idx.diseases[d] for d in order])
        by_term = {}
        for f in used:
            by_term.setdefault(idx.term_index[[h for h in f.hpo if h in idx.term_index][0]], f)
        for rank, d in enumerate(order, 1):
            did = idx.diseases[d]
            sup, con, mis = self._phenotype_evidence(int(d), present, absent, by_term, edges.get(did, {}))
            code = self._icd10cm_of(idx.disease_names[d])
            result.diagnoses.append(Diagnosis(rank=rank, id=did, name=idx.disease_names[d], source=did.split(":")[0].lower(),
                                              knowledge="hpo", score=round(float(scores[d]), 4),
                                              probability=round(float(probs[d]), 4), supporting=sup, contradicting=con,
                                              missing=mis, icd10cm=code, icd10cm_name=self._icd_name(code)))
        result.questions = self._phenotype_questions(order[:10], probs, present + absent, n_questions)
        return result

    def _icd10cm_of(self, name: str) -> str | None:
        """The ICD-10-CM code whose name is the disease's name, if any (rare diseases rarely have one)."""
        for c in self.kg.lookup(name):
            if c.id.startswith("ICD10CM:"):
                return c.id.split(":", 1)[1]
        return None

    def _edges(self, diseases: list[str]) -> dict[str, dict[str, dict]]:
        out: dict[str, dict[str, dict]] = {}
        for did in diseases:
            for rel in self.kg.relations(did, predicate="has_phenotype"):
                out.setdefault(did, {})[rel.object] = {**rel.attrs, "source": rel.source}
        return out

    def _phenotype_evidence(self, d: int, present: list[int], absent: list[int], by_term: dict[int, Finding],
                            edges: dict[str, dict]) -> tuple[list[Evidence], list[Evidence], list[Evidence]]:
        idx = self.index
        ann = idx.disease_annotations(d)
        anc = {t: set(idx.ancestors(t).tolist()) for t, _ in ann}
        sup: list[Evidence] = []
        con: list[Evidence] = []
        n = max(1, len(present))
        src = idx.diseases[d].split(":")[0].lower()
        for q in present:
            f = by_term[q]
            q_anc = set(idx.ancestors(q).tolist())
            best, best_ic, best_t = -1, 0.0, None
            for t, _ in ann:
                common = q_anc & anc[t]
                if not common:
                    continue
                a = max(common, key=lambda x: idx.ic[x])
                if idx.ic[a] > best_ic or (idx.ic[a] == best_ic and t == q):
                    best, best_ic, best_t = a, float(idx.ic[a]), t
            lacked = [a for a in q_anc if d in idx.lacks.get(int(a), ())]
            if lacked:
                con.append(self._ev(f, idx.terms[lacked[0]], "lacks_phenotype", "excluded", None, {}, src,
                                    -self.settings.absent_weight * float(idx.ic[q]) / n))
            if best_t is None or best_ic <= 0:
                continue
            match = "exact" if best_t == q else "more_specific" if best_t in q_anc else "more_general" if q in anc[best_t] else "related"
            attrs = edges.get(idx.terms[best_t], {})
            sup.append(self._ev(f, idx.terms[best_t], "has_phenotype", match, idx.terms[best], attrs,
                                attrs.get("source", src), self.settings.alpha * best_ic / n))
        for q in absent:
            f = by_term[q]
            below = [t for t, _ in ann if q in anc[t]]
            if not below:
                continue
            t = max(below, key=lambda x: edges.get(idx.terms[x], {}).get("frequency", 0.5))
            attrs = edges.get(idx.terms[t], {})
            freq = attrs.get("frequency", self.settings.unknown_frequency)
            con.append(self._ev(f, idx.terms[t], "has_phenotype", "exact" if t == q else "more_general", None, attrs,
                                attrs.get("source", src), -self.settings.absent_weight * float(idx.ic[q]) * freq / n))
        asked = present + absent
        asked_anc = [set(idx.ancestors(q).tolist()) for q in asked]
        mis = []
        for t, freq in sorted(ann, key=lambda a: (-(a[1] if a[1] is not None else 0.0), -idx.ic[a[0]])):
            if freq is None or freq < 0.5 or len(mis) >= 5:
                continue
            if any(t in qa or q in anc[t] for q, qa in zip(asked, asked_anc)):
                continue
            attrs = edges.get(idx.terms[t], {})
            mis.append(Evidence(finding=idx.terms[t], finding_name=idx.term_names[t], finding_status="absent",
                                relation="has_phenotype", term=idx.terms[t], term_name=idx.term_names[t], match="missing",
                                frequency=freq, frequency_raw=attrs.get("frequency_raw"), reference=attrs.get("reference"),
                                source=attrs.get("source", src)))
        return sup, con, mis

    def _ev(self, f: Finding, term: str, relation: str, match: str, shared: str | None, attrs: dict, source: str,
            weight: float) -> Evidence:
        idx = self.index
        return Evidence(finding=f.id, finding_name=f.name, finding_status="present" if f.status == "present" else "absent",
                        text=f.text, relation=relation, term=term, term_name=idx.term_names[idx.term_index[term]],
                        match=match, shared=shared if shared and shared != term else None,
                        shared_name=idx.term_names[idx.term_index[shared]] if shared and shared != term else None,
                        frequency=attrs.get("frequency"), frequency_raw=attrs.get("frequency_raw"),
                        reference=attrs.get("reference"), weight=round(weight, 4), source=source)

    def _phenotype_questions(self, top_d: np.ndarray, probs: np.ndarray, asked: list[int], n: int) -> list[Question]:
        idx = self.index
        if n <= 0 or len(top_d) < 2:
            return []
        asked_anc = [set(idx.ancestors(q).tolist()) for q in asked]
        cands: list[int] = []
        seen: set[int] = set()
        for d in top_d:
            for t, _ in idx.disease_annotations(int(d)):
                if t in seen or idx.ic[t] < 1.0:
                    continue
                seen.add(t)
                t_anc = set(idx.ancestors(t).tolist())
                if any(t in qa or q in t_anc for q, qa in zip(asked, asked_anc)):
                    continue
                cands.append(t)
        if not cands:
            return []
        like = np.full((len(top_d), len(cands)), 0.02)
        for i, d in enumerate(top_d):
            for j, t in enumerate(cands):
                f = idx.propagated_frequency(int(d), t)
                if f is not None:
                    like[i, j] = self.settings.unknown_frequency if f < 0 else max(0.02, min(0.98, f))
        gain, p_yes = information_gain(probs[top_d], like)
        best = np.argsort(-gain)[:n]
        out = []
        for j in best:
            t = cands[j]
            name = idx.term_names[t]
            out.append(Question(id=idx.terms[t], name=name, question=f"Does the patient have {name.lower()}?",
                                information_gain=round(float(gain[j]), 4), probability_yes=round(float(p_yes[j]), 4),
                                diseases=[idx.diseases[d] for i, d in enumerate(top_d) if like[i, j] >= 0.5]))
        return out

    # -- table scorer ----------------------------------------------------------------------
    def _table_phrases(self) -> dict[str, tuple[str, str]] | None:
        if self.table is None:
            return None
        return {symptom_text(s): (TABLE_PREFIX + s, symptom_text(s)) for s in self.table.symptoms}

    def symptom_concepts(self) -> dict[int, set[str]]:
        """Concept ids of each table symptom (linked by running its name through the pipeline)."""
        if self._symptom_concepts is None:
            out: dict[int, set[str]] = {}
            for i, s in enumerate(self.table.symptoms):
                text = symptom_text(s)
                ids: set[str] = {TABLE_PREFIX + s}
                found = [f for f in self.extractor.from_text(text, semantic=False) if f.start is not None]
                if found:
                    f = max(found, key=lambda f: f.end - f.start)
                    if (f.end - f.start) * 2 >= len(text):
                        ids.update(f.hpo or f.concepts[:1])
                out[i] = ids
            self._symptom_concepts = out
        return self._symptom_concepts

    def match_symptoms(self, f: Finding) -> list[int]:
        """Table symptoms a finding stands for: same concept, or the finding is a more specific HPO term."""
        sc = self.symptom_concepts()
        ids = {f.id, *f.concepts, *f.hpo}
        for h in f.hpo:
            ids.update(self._ancestors(h))
        return [i for i, cs in sc.items() if cs & ids]

    def _diagnose_table(self, findings: list[Finding], top: int, n_questions: int) -> Differential:
        table, nb = self.table, self.nb
        used, unmapped = [], []
        present: dict[int, Finding] = {}
        absent: dict[int, Finding] = {}
        for f in findings:
            syms = self.match_symptoms(f)
            if not syms:
                unmapped.append(f)
                continue
            used.append(f)
            for s in syms:
                (present if f.status == "present" else absent).setdefault(s, f)
        absent = {s: f for s, f in absent.items() if s not in present}
        result = Differential(method="table", mode="table", findings=used, unmapped=unmapped, candidates=len(table.diseases))
        if not present and not absent:
            return result
        scores = nb.score(list(present), list(absent))
        probs = nb.probabilities(scores)
        order = np.argsort(-scores, kind="stable")[:top]
        base = np.log(nb.p.mean(axis=0))
        base_q = np.log1p(-nb.p.mean(axis=0))
        for rank, d in enumerate(order, 1):
            name = table.diseases[d]
            sup, con = [], []
            for s, f in present.items():
                w = float(nb.log_p[d, s] - base[s])
                ev = self._table_ev(f, s, d, w, "exact")
                (sup if table.counts[d, s] > 0 else con).append(ev)
            for s, f in absent.items():
                w = float(nb.log_q[d, s] - base_q[s])
                ev = self._table_ev(f, s, d, w, "exact")
                (con if table.counts[d, s] > 0 else sup).append(ev)
            asked = set(present) | set(absent)
            mis = [self._table_missing(s, d) for s in np.argsort(-table.counts[d])
                   if table.counts[d, s] / table.rows[d] >= 0.5 and int(s) not in asked][:5]
            result.diagnoses.append(Diagnosis(rank=rank, id=f"{table.name}:{name}", name=name, source=table.name,
                                              score=round(float(scores[d]), 4), probability=round(float(probs[d]), 4),
                                              supporting=sup, contradicting=con, missing=mis,
                                              description=table.description(name)))
        for d in order[:3]:
            if probs[d] < 0.1:
                continue
            name = table.diseases[d]
            for p in table.precautions_of(name):
                result.suggestions.append(Suggestion(kind="precaution", text=p, reason=f"listed for {name}", diagnosis=name,
                                                     provenance=Provenance(source=f"table {table.name}", reference="precautions file")))
        # next questions
        top_d = order[:10]
        asked = set(present) | set(absent)
        cands = [s for s in range(len(table.symptoms)) if s not in asked and table.counts[top_d, s].sum() > 0]
        if cands and n_questions > 0 and len(top_d) > 1:
            gain, p_yes = information_gain(probs[top_d], nb.p[np.ix_(top_d, cands)])
            for j in np.argsort(-gain)[:n_questions]:
                s = cands[j]
                result.questions.append(Question(
                    id=TABLE_PREFIX + table.symptoms[s], name=symptom_text(table.symptoms[s]),
                    question=f"Do you have {symptom_text(table.symptoms[s])}?", information_gain=round(float(gain[j]), 4),
                    probability_yes=round(float(p_yes[j]), 4),
                    diseases=[table.diseases[d] for d in top_d if nb.p[d, s] >= 0.5]))
        return result

    def _table_ev(self, f: Finding, s: int, d: int, weight: float, match: str) -> Evidence:
        t = self.table
        return Evidence(finding=f.id, finding_name=f.name, finding_status="present" if f.status == "present" else "absent",
                        text=f.text, relation="table", term=TABLE_PREFIX + t.symptoms[s], term_name=symptom_text(t.symptoms[s]),
                        match=match, frequency=round(float(t.counts[d, s] / t.rows[d]), 4),
                        frequency_raw=f"{int(t.counts[d, s])}/{int(t.rows[d])}", weight=round(weight, 4), source=t.name)

    def _table_missing(self, s: int, d: int) -> Evidence:
        t = self.table
        sid = TABLE_PREFIX + t.symptoms[s]
        return Evidence(finding=sid, finding_name=symptom_text(t.symptoms[s]), finding_status="absent", relation="table",
                        term=sid, term_name=symptom_text(t.symptoms[s]), match="missing",
                        frequency=round(float(t.counts[d, s] / t.rows[d]), 4),
                        frequency_raw=f"{int(t.counts[d, s])}/{int(t.rows[d])}", source=t.name)


_ENGINES: dict[tuple[str, str | None], DiagnosisEngine] = {}


def load_table(path: str | Path) -> DiseaseSymptomTable | CommonKnowledge:
    """A user's disease-symptom table: a folder with ``dataset.csv`` (disease-symptom-kb format), or a
    SymCAT.json, symcat-474-symptoms.csv or Columbia disease_symptom_pairs.csv file.

    Raises:
        SourceError: missing file, unknown format, or a malformed line (file and line named).
    """
    p = Path(path)
    if p.is_dir():
        return DiseaseSymptomTable.from_dir(p)
    return CommonKnowledge.from_table(p)


def diagnose(inputs: Doc | str | Sequence[Finding], *, kg_path: str | Path | None = None,
             table: str | Path | None = None, labs: Sequence[LabValue | str] = (), top: int = 10,
             questions: int = 5, mode: str | None = None) -> Differential:
    """Rank diagnoses for a Doc, a text, or findings, with an engine cached per graph and table.

    Args:
        inputs: an analyzed Doc, free text (a note or a patient's description), or findings.
        kg_path: knowledge graph file (default location if None).
        table: a table folder or file (see :func:`load_table`); None uses the shipped common-disease knowledge.
        mode: auto, common or rare (see :meth:`DiagnosisEngine.diagnose`).
        labs: lab values for the guideline rules.
        top: how many diagnoses to return.
        questions: how many next questions.
    """
    key = (str(kg_path), str(table) if table else None)
    if key not in _ENGINES:
        _ENGINES[key] = DiagnosisEngine.load(kg_path, table=table)
    return _ENGINES[key].diagnose(inputs, labs=labs, top=top, questions=questions, mode=mode)
