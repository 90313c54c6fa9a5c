"""Public results of reasoning: pydantic models with a stable JSON form.

Same conventions as :mod:`medlens.results`: unknown keys are rejected, ids are
the sources' own (``HP:0001945``, ``OMIM:154700``, ``ORPHA:558``), scores and
probabilities are plain floats, and every statement carries its evidence.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

REASONING_SCHEMA_VERSION = "1"

DISCLAIMER = (
    "Decision support only: medlens ranks diagnoses by their fit to the findings it was given, using "
    "published knowledge sources and rules. It is not a diagnosis, can be wrong or incomplete, and "
    "does not replace the judgement of a qualified clinician. In an emergency, call your local emergency number."
)

FindingStatus = Literal["present", "absent", "historical", "family", "uncertain", "hypothetical"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Finding(_Model):
    """One finding about the patient, coded.

    Only ``present`` and ``absent`` findings are used for ranking; historical,
    family, uncertain and hypothetical ones are kept apart and reported.
    """

    id: str = Field(description="the primary concept id (an HPO id when there is one)")
    name: str
    status: FindingStatus = "present"
    text: str | None = Field(None, description="the words of the input, as written")
    start: int | None = None
    end: int | None = None
    origin: str = Field("text", description="text (found by the pipeline), lay (lay phrase), semantic (matched by "
                                            "meaning), phrase (a table symptom's name), hpo, json or input")
    concepts: list[str] = Field(default_factory=list, description="every concept id linked to the finding")
    hpo: list[str] = Field(default_factory=list, description="HPO terms used by the phenotype scorer")
    score: float | None = Field(None, description="semantic matches: cosine similarity of the words and the concept text")
    matched: str | None = Field(None, description="semantic matches: the concept text (name, synonym, definition, lay "
                                                  "phrase or table symptom) the words were closest to")

    @property
    def counted(self) -> bool:
        """Whether the finding is current and about the patient (present or absent)."""
        return self.status in ("present", "absent")


class Evidence(_Model):
    """Why a finding speaks for or against a diagnosis: the knowledge-graph edge behind it."""

    finding: str = Field(description="the patient's finding (concept id)")
    finding_name: str
    finding_status: Literal["present", "absent"]
    text: str | None = None
    relation: str = Field(description="has_phenotype, lacks_phenotype, table (a CSV disease-symptom table), "
                                      "p_finding_given_disease (common-disease knowledge), stated_diagnosis (the text names "
                                      "the disease as current), known_condition (a chronic disease in the past history), "
                                      "chief_complaint (the chief complaint / reason for visit names the disease) or "
                                      "abnormal_result (a lab value that shows the disease: low hemoglobin, anemia)")
    term: str | None = Field(None, description="the disease's annotated term or table symptom")
    term_name: str | None = None
    match: str = Field(description="exact, more_specific (the finding is below the annotated term), "
                                   "more_general, related (common ancestor), excluded or missing")
    shared: str | None = Field(None, description="the most informative common ancestor (phenotype scorer)")
    shared_name: str | None = None
    frequency: float | None = Field(None, description="annotated frequency 0..1, when known")
    frequency_raw: str | None = None
    reference: str | None = None
    weight: float = Field(0.0, description="contribution to the score (positive supports, negative contradicts)")
    source: str = Field(description="knowledge source of the edge: omim, orphanet, decipher, ddxplus, or the table's name")


class Diagnosis(_Model):
    """One ranked candidate diagnosis."""

    rank: int
    id: str
    name: str
    source: str
    score: float
    probability: float = Field(ge=0, le=1, description="normalized over every candidate (softmax of scores)")
    supporting: list[Evidence] = []
    contradicting: list[Evidence] = []
    missing: list[Evidence] = Field(default=[], description="frequent features of the disease the patient was not reported to have")
    description: str | None = None
    knowledge: str | None = Field(None, description="which knowledge ranked it: ddxplus (common diseases), hpo (rare-disease "
                                                     "phenotypes), or a user table's name")
    icd10cm: str | None = Field(None, description="ICD-10-CM code, where one exists")
    icd10cm_name: str | None = None
    severity: int | None = Field(None, ge=1, le=5, description="DDXPlus severity: 1 most severe .. 5 mild")
    urgency: Literal["emergency", "soon", "self-care"] | None = Field(None, description="the level this diagnosis calls for: the care level of the acuity rules (resources/en/common/acuity.json) where they give one, else from the severity (1-2 emergency, 3 soon, 4-5 self-care)")
    cant_miss: bool = Field(False, description="a dangerous diagnosis (severity 1-2) that must be ruled out")
    factors: dict[str, float] = Field(default={}, description="prior and age/sex factors applied (the patient's)")


class Patient(_Model):
    """Who the patient is, as read from the text (or given)."""

    age: float | None = Field(None, description="years")
    sex: Literal["female", "male"] | None = None
    age_text: str | None = Field(None, description="the words the age was read from")
    sex_text: str | None = Field(None, description="the words the sex was read from")


class RiskFactor(_Model):
    """A history item, exposure or medication the knowledge uses as an antecedent."""

    id: str = Field(description="the knowledge's evidence key (DDXPlus: i10, f17.210, trav1@abroad ...)")
    name: str
    status: Literal["present", "absent"]
    context: str = Field(description="history, family, current or diagnosis: where it was said")
    text: str | None = None
    origin: str = Field(description="finding (a pipeline finding routed here) or text (the knowledge's words)")
    finding: str | None = Field(None, description="the id of the finding routed here, when origin is finding")


class VitalSign(_Model):
    """A vital sign read from the text, in the unit the acuity rules use (temperatures in °C)."""

    vital: Literal["spo2", "hr", "rr", "sbp", "temp"]
    value: float
    unit: str
    text: str = Field(description="the words it was read from")


class TriageSign(_Model):
    """One reason the patient's state gives for a triage level (vital sign, NEWS2 score, sign, or condition)."""

    kind: Literal["vital", "score", "sign", "modifier"]
    name: str
    level: Literal["emergency", "soon"]
    why: str


class Triage(_Model):
    """How urgently the patient should be seen (symptom-checker style)."""

    level: Literal["emergency", "soon", "self-care"]
    advice: str
    reason: str
    route: Literal["diagnoses", "acuity", "red flag", "drug reaction"] = Field(
        "diagnoses", description="what set the level: the ranked diagnoses' care level, the patient's acuity (vital "
                                 "signs, signs, age/pregnancy/immunity/frailty), a red-flag symptom, or a possible "
                                 "reaction to a drug the patient takes, read from the text (self-care becomes soon)")
    signs: list[TriageSign] = Field(default=[], description="the acuity signs found (raising the level or not)")
    vitals: list[VitalSign] = Field(default=[], description="vital signs read from the text")
    news2: int | None = Field(None, description="NEWS2 score from the vital signs read (adults; None: none read)")


class ExcludedDiagnosis(_Model):
    """A diagnosis ruled out by the patient's age or sex."""

    id: str
    name: str
    reason: str


class Question(_Model):
    """A finding whose answer would most change the ranking."""

    id: str
    name: str
    question: str
    information_gain: float = Field(description="expected drop in entropy (bits) of the top diagnoses")
    probability_yes: float = Field(ge=0, le=1)
    diseases: list[str] = Field(default=[], description="top diagnoses in which the finding is expected")


class Provenance(_Model):
    """Where a suggestion comes from."""

    source: str = Field(description="guideline rules file, disease-symptom table, or HPO annotations")
    rule: str | None = None
    reference: str | None = None


class Suggestion(_Model):
    """A test, precaution, treatment or referral from a knowledge source or a rule."""

    kind: Literal["test", "precaution", "treatment", "referral", "urgent"]
    text: str
    reason: str
    diagnosis: str | None = Field(None, description="the diagnosis it relates to, if any")
    provenance: Provenance


class LearnedEvidence(_Model):
    """A sentence a drug reaction was read from: of the literature (a learned edge) or of the input itself."""

    doc_id: str = Field(description="the id of the document in the grown corpus, or \"input\" (the text diagnosed)")
    sentence: str
    method: str = Field(description="how the relation was read: model:<name>, pattern:<name> or distant:<source>; "
                                    "for the input, rules / model / rules+model (the adverse-event reader) or timing")
    score: float | None = None


class DrugReaction(_Model):
    """A drug the patient takes that may have caused one of the patient's findings.

    Either learned from text (``medlens kg grow``: the grown graph's edges, with their score and documents), or
    read from the input itself (the adverse-event reader's "rash after amoxicillin", or the timing: a drug the
    text says was started, then a finding of a kind drugs commonly cause; see :mod:`medlens.reasoning.reactions`).
    Never from curated knowledge: listed apart from the ranked diagnoses, it does not change their scores.
    """

    drug: str = Field(description="the drug's concept id")
    drug_name: str
    drug_text: str | None = Field(None, description="the drug as written in the note")
    finding: str = Field(description="the patient's finding (concept id)")
    finding_name: str
    finding_text: str | None = None
    predicate: str = Field(description="the learned edge: induces (chemical induces disease) or adverse_event; read "
                                       "from the input: adverse_event (stated) or after_starting (timing)")
    score: float | None = Field(None, description="the learned edge's score (noisy-or over the documents it was read "
                                                  "from); None when read from the input")
    documents: int = Field(0, description="documents of the grown corpus the edge was read from (0: the input)")
    methods: list[str] = []
    evidence: list[LearnedEvidence] = []
    knowledge: Literal["learned from text", "read from this text"] = "learned from text"


class Differential(_Model):
    """The whole answer: findings used, ranked diagnoses, next questions, suggestions."""

    schema_version: str = REASONING_SCHEMA_VERSION
    method: str = Field(description="common (naive Bayes over common-disease knowledge), phenotype (HPO annotations) "
                                    "or table (a disease-symptom CSV table)")
    mode: Literal["common", "rare", "table"] = Field("rare", description="common diseases (default for notes and patient text), "
                                                                          "rare (HPO phenotype ranking) or table (dataset.csv folder)")
    knowledge: list[str] = Field(default=[], description="the knowledge that ranked the diagnoses, with its license")
    patient: Patient | None = None
    risk_factors: list[RiskFactor] = Field(default=[], description="antecedents and risk factors used")
    triage: Triage | None = None
    excluded_diagnoses: list[ExcludedDiagnosis] = Field(default=[], description="ruled out by age or sex")
    rare: list[Diagnosis] = Field(default=[], description="rare-disease phenotype ranking offered beside the common list "
                                                          "(when the findings fit a syndrome better)")
    findings: list[Finding] = []
    excluded_findings: list[Finding] = Field(default=[], description="historical, family, uncertain or hypothetical: not counted")
    unmapped: list[Finding] = Field(default=[], description="findings the scorer's knowledge does not cover")
    candidates: int = Field(0, description="how many diseases were ranked")
    diagnoses: list[Diagnosis] = []
    questions: list[Question] = []
    suggestions: list[Suggestion] = []
    drug_reactions: list[DrugReaction] = Field(default=[], description="drugs the patient takes that may have caused a "
                                                                       "present finding: read from the input (a stated "
                                                                       "adverse event, or a finding after a drug was "
                                                                       "started) or learned from text by the grown graph "
                                                                       "(kept apart from curated knowledge)")
    disclaimer: str = DISCLAIMER
