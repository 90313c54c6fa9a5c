"""Common diseases: knowledge of P(finding | disease) with priors, and a naive Bayes scorer over it.

The shipped knowledge is DDXPlus (CC-BY 4.0; Fansi Tchango et al., NeurIPS
2022): 49 common pathologies with ICD-10-CM codes and severity 1-5, 223
evidences (symptoms and antecedents, with the patients' questions), the prior
of each pathology and P(evidence value | pathology), as computed from
DDXPlus's synthetic training patients (``resources/en/common/ddxplus.json``,
made by ``scripts/convert_ddxplus.py``). A reviewed mapping
(``resources/en/common/ddxplus_mapping.json``) ties each evidence to graph
concepts (HPO / ICD-10-CM ids; an HPO term below a mapped one also counts)
and to word patterns, so that findings of any note reach it.

The same :class:`CommonKnowledge` is built from tables users bring (for
development and examples; never shipped):

* SymCAT ``SymCAT.json``: ``{"disease-slug": [["Symptom", P(symptom|disease)], ...]}``;
* SymCAT ``symcat-474-symptoms.csv``: one row per (symptom, disorder) with
  P(disorder | symptom) in percent, used as a proxy of P(symptom | disorder);
* Columbia ``disease_symptom_pairs.csv``: ``Disease,disease_occurrence,Symptom``
  (UMLS CUI_name, alternatives joined by ``^``; symptoms in order of association):
  P(symptom | disease) from the rank, the prior from the occurrence counts.

:class:`CommonScorer` ranks by ``log P(d) + Σ_present log P(f|d) + Σ_absent log(1 - P(f|d))``
(unknown findings are left out), with age/sex factors and exclusions
(``resources/en/common/demographics.json``), and a stated current diagnosis
(a present finding naming the disease) as strong evidence.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from medlens.errors import Errors, SourceError
from medlens.resources import resource_path

LEAK = 0.01
"""P(finding | disease) floor in the knowledge (DDXPlus's own "never seen" is 1e-7)."""
NOTE_LEAK = 0.1
"""The scorer's floor: a finding the disease's knowledge does not list is taken as seen in 10% of its patients
(notes mention much the knowledge does not model; chosen on the mtsamples dev half, with STATED_FACTOR and
ABSENT_WEIGHT)."""
ABSENT_WEIGHT = 0.5
CAP = 0.98
STATED_FACTOR = 1000.0
"""Likelihood ratio of a present, current finding that names the disease (a stated diagnosis)."""
LAB_FACTOR = 100.0
"""Likelihood ratio of an abnormal result that shows the disease (a hemoglobin below the WHO threshold: anemia)."""
HISTORY_FACTOR = 10.0
"""Likelihood ratio of a past-history mention of a chronic disease (atrial fibrillation, anemia, COPD ...)."""
NOTE_HISTORY_FACTOR = 30.0
"""The same in a clinical note, where a chronic disease of the past history is an active problem the visit
follows (not for an acute disease known only through its underlying one, e.g. asthma for an asthma attack) (the notes' assessments name it far more often than a patient's "I had asthma" makes an asthma attack
likely); chosen on the mtsamples dev half (10, 30, 100 and 300 were tried: 30 gave the top-1 of 100 and 300)."""
CHIEF_FACTOR = 10.0
"""Likelihood ratio of a disease the chief complaint / reason for visit names (on top of a stated or known
condition): of the diseases a note names, the one the visit is for (a consult for a new lung cancer that names
a pneumothorax and pulmonary edema on the way). Chosen on the mtsamples dev half."""
NOTE_MAX_FINDINGS = 5.0
"""For notes: the findings' summed log-likelihood is scaled by ``min(1, NOTE_MAX_FINDINGS / n)`` (n = present
findings + absent ones at their weight), as if at most that many independent findings were counted. A long
note names dozens of findings that are far from independent, and naive Bayes over all of them is overconfident
(probabilities 1.00 / 0.00). Chosen on the mtsamples dev half."""
EMERGENCY_AT = 0.3
"""Triage: the total probability of supported can't-miss diagnoses (severity 1-2) that makes it an emergency."""
NOTE_EMERGENCY_AT = 0.3
"""The same for notes, whose tempered probabilities (``NOTE_MAX_FINDINGS``) are flatter; chosen on the mtsamples
dev half."""

NOTE_LEAD_AT = 0.3
"""For notes, a can't-miss diagnosis sets the emergency level by leading the list only when it is ahead of every
other diagnosis by this much probability: a note's tempered probabilities are flat, and a can't-miss diagnosis
first at 0.15-0.25 ahead of a 0.13 one (anaphylaxis for a sore throat with palatal edema, epiglottitis for
dysphagia) is no sign of an emergency. Chosen on the mtsamples dev half (0.2-0.5 gave the same triage)."""

URGENCY = {1: "emergency", 2: "emergency", 3: "soon", 4: "self-care", 5: "self-care"}
TRIAGE_WORDS = {"emergency": "emergency: seek care now (call your local emergency number)",
                "soon": "see a doctor soon (within a day or two)",
                "self-care": "self-care is likely enough; see a doctor if it gets worse or does not improve"}


def _compile(patterns: Iterable[str]) -> list[re.Pattern]:
    return [re.compile(rf"(?<![\w-]){p}(?![\w-])", re.IGNORECASE) for p in patterns]


@dataclass
class Feature:
    """One thing the knowledge has a probability for: a symptom, an antecedent, or a value of one.

    Attributes:
        key: ``fievre``, ``douleurxx_endroitducorps@chest`` (a group of values), ``trav1@AfriqO`` (one value).
        label: short English words (used for the text of a finding and the report).
        question: how to ask the patient (DDXPlus's own question when there is one).
        antecedent: history, risk factor or exposure (not a current symptom).
        family: a family-history mention counts for it; family_only: only a family mention does.
        history: a past-history mention counts for it.
        concepts: graph concept ids that reach it (HPO ids also through their descendants).
        patterns: compiled word patterns matched on a finding's words (and, for antecedents, the text).
        parent: the binary evidence a value belongs to (``douleurxx``), if any.
    """

    key: str
    label: str
    question: str
    antecedent: bool = False
    family: bool = False
    family_only: bool = False
    history: bool = False
    concepts: frozenset[str] = frozenset()
    patterns: list[re.Pattern] = field(default_factory=list)
    parent: str | None = None
    raw_value: bool = False
    unless: list[re.Pattern] = field(default_factory=list)


@dataclass
class CommonKnowledge:
    """Diseases × features with P(feature | disease), priors, codes and severity.

    Attributes:
        name: knowledge name (``ddxplus`` or the table's name), cited as each diagnosis's source.
        title, license, origin: provenance.
        ids, names: disease ids and names.
        icd10cm: ICD-10-CM code of each disease (None when unknown).
        severity: 1 (most severe) .. 5, None when unknown.
        prior: prior probability of each disease (sums to 1).
        features: the features.
        p: ``[D, F]`` P(feature | disease), in ``[LEAK, CAP]``.
        listed: ``[D, F]`` whether the disease's knowledge lists the feature.
        stated: patterns naming each disease (a stated diagnosis).
        chronic: patterns of a chronic disease's past-history mention (its names, and its underlying disease's).
        underlying: patterns of the underlying chronic disease of an acute one (asthma for an asthma attack).
        low_labs: per disease, the lab value whose low result shows it (``low_lab`` of the mapping), or None.
        same_as: feature index → the index of another encoding of the same symptom; a case with both counts
            the first only.
        shipped: whether this is the knowledge shipped with medlens.
    """

    name: str
    title: str
    license: str
    origin: str
    ids: list[str]
    names: list[str]
    icd10cm: list[str | None]
    severity: list[int | None]
    prior: np.ndarray
    features: list[Feature]
    p: np.ndarray
    listed: np.ndarray
    stated: list[list[re.Pattern]] = field(default_factory=list)
    chronic: list[list[re.Pattern]] = field(default_factory=list)
    underlying: list[list[re.Pattern]] = field(default_factory=list)
    icd10_notes: list[str | None] = field(default_factory=list)
    low_labs: list[dict | None] = field(default_factory=list)
    shipped: bool = False
    same_as: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.feature_index = {f.key: i for i, f in enumerate(self.features)}
        self.disease_index = {d: i for i, d in enumerate(self.ids)}
        self.log_p = np.log(self.p)
        self.log_q = np.log1p(-self.p)
        self.log_prior = np.log(self.prior)
        if not self.stated:
            self.stated = [_compile([re.escape(n.lower())]) for n in self.names]

    # -- loaders -----------------------------------------------------------------------
    @classmethod
    def ddxplus(cls, path: str | Path | None = None, mapping: str | Path | None = None) -> CommonKnowledge:
        """The shipped DDXPlus knowledge (or a file in the same format)."""
        return _ddxplus(str(path or resource_path("common/ddxplus.json")),
                        str(mapping or resource_path("common/ddxplus_mapping.json")))

    @classmethod
    def from_table(cls, path: str | Path, name: str | None = None) -> CommonKnowledge:
        """A user's disease-symptom table: SymCAT.json, symcat-474-symptoms.csv or a Columbia
        ``disease_symptom_pairs.csv`` (the format is told from the file).

        Raises:
            SourceError: the file is missing, in no known format, or a line is malformed (file and line named).
        """
        p = Path(path)
        if not p.is_file():
            raise SourceError(Errors.E104.format(source="disease-symptom table", path=p, details="no such file"))
        name = name or p.stem
        if p.suffix.lower() == ".json":
            return _symcat_json(p, name)
        with p.open(encoding="utf-8-sig", newline="") as fh:
            header = fh.readline().strip()
        cols = [c.strip().lower() for c in header.split(",")]
        if cols[:3] == ["disease", "disease_occurrence", "symptom"]:
            return _columbia(p, name)
        if cols and cols[0] == "selection1_name":
            return _symcat_csv(p, name)
        raise SourceError(Errors.E105.format(path=p, line=1, details=(
            f"unknown table format (header {header[:80]!r}); expected SymCAT.json, symcat-474-symptoms.csv "
            "(header selection1_name,...) or Columbia disease_symptom_pairs.csv (header Disease,disease_occurrence,Symptom)")))


# -- DDXPlus ---------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _ddxplus(path: str, mapping_path: str) -> CommonKnowledge:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    mapping = json.loads(Path(mapping_path).read_text(encoding="utf-8"))
    evs = data["evidences"]
    features: list[Feature] = []
    for key, m in mapping["evidences"].items():
        if key not in evs:
            raise SourceError(Errors.E105.format(path=mapping_path, line=0, details=f"evidence {key!r} is not a DDXPlus evidence"))
        e = evs[key]
        features.append(Feature(key=key, label=m["label"], question=e["question"], antecedent=e["antecedent"],
                                family=m.get("family", False), family_only=m.get("family_only", False),
                                history=m.get("history", False), concepts=frozenset(m.get("concepts", [])),
                                patterns=_compile(m.get("patterns", [])),
                                unless=[re.compile(u, re.IGNORECASE) for u in m.get("unless", [])]))
    groups: dict[str, dict[str, list[str]]] = {}
    for ev, gs in mapping["values"].items():
        e = evs[ev]
        parent = ev.split("_endroitducorps")[0].split("_irrad")[0].split("_carac")[0]
        for g, m in gs.items():
            groups.setdefault(ev, {})[g] = m["values"]
            features.append(Feature(key=f"{ev}@{g}", label=m["label"], question=e["question"], antecedent=e["antecedent"],
                                    history=e["antecedent"], concepts=frozenset(m.get("concepts", [])),
                                    patterns=_compile(m.get("patterns", [])), parent=parent if parent in evs else None))
    # every categorical value seen in the stats, for structured input (DDXPlus patients, answers)
    seen_values: dict[str, set[str]] = {}
    for d in data["diseases"]:
        for ev, vals in d["values"].items():
            seen_values.setdefault(ev, set()).update(vals)
    for ev in sorted(seen_values):
        e = evs[ev]
        for v in sorted(seen_values[ev]):
            if str(v) == str(e["default"]):
                continue
            meaning = e.get("values", {}).get(v, v)
            features.append(Feature(key=f"{ev}@{v}", label=f"{e['question']} {meaning}", question=e["question"],
                                    antecedent=e["antecedent"], raw_value=True))
    fi = {f.key: i for i, f in enumerate(features)}
    D, F = len(data["diseases"]), len(features)
    p = np.full((D, F), LEAK)
    listed = np.zeros((D, F), dtype=bool)
    for i, d in enumerate(data["diseases"]):
        for ev, q in d["findings"].items():
            if ev in fi:
                p[i, fi[ev]] = q
                listed[i, fi[ev]] = q > LEAK
        for ev, vals in d["values"].items():
            for v, q in vals.items():
                k = f"{ev}@{v}"
                if k in fi:
                    p[i, fi[k]] = q
                    listed[i, fi[k]] = q > LEAK
            for g, members in groups.get(ev, {}).items():
                q = sum(vals.get(v, 0.0) for v in members)
                if q > 0:
                    p[i, fi[f"{ev}@{g}"]] = q
                    listed[i, fi[f"{ev}@{g}"]] = q > LEAK
    # a more specific evidence implies the general one (a barking cough is a cough; a chest pain is a pain)
    implied = [(fi[k], fi[g]) for k, m in mapping["evidences"].items() for g in m.get("implies", [])]
    implied += [(fi[f.key], fi[f.parent]) for f in features if f.parent and f.parent in fi and not f.raw_value]
    for s_, g_ in implied:
        p[:, g_] = np.maximum(p[:, g_], p[:, s_])
        listed[:, g_] |= listed[:, s_]
    # two encodings of one symptom (DDXPlus asks "sore throat?" and also "where is the pain?": throat; its viral
    # pharyngitis patients answer only the second): each takes the larger probability, and a case that has both
    # counts one (``CommonKnowledge.same_as``)
    same_as = {fi[k]: fi[m["same_as"]] for k, m in mapping["evidences"].items() if m.get("same_as")}
    for a, b in same_as.items():
        p[:, a] = p[:, b] = np.maximum(p[:, a], p[:, b])
        listed[:, a] = listed[:, b] = listed[:, a] | listed[:, b]
    p = np.clip(p, LEAK, CAP)
    prior = np.array([d["prior"] for d in data["diseases"]], dtype=float)
    prior /= prior.sum()
    stated_map = mapping.get("diseases", {})
    stated = [_compile(stated_map.get(d["id"], {}).get("patterns", [re.escape(d["name"].lower())])) for d in data["diseases"]]
    chronic = [_compile(stated_map[d["id"]].get("patterns", []) + stated_map[d["id"]].get("history_patterns", []))
               if stated_map.get(d["id"], {}).get("chronic") else [] for d in data["diseases"]]
    underlying = [_compile(stated_map.get(d["id"], {}).get("history_patterns", [])) for d in data["diseases"]]
    low_labs = [stated_map.get(d["id"], {}).get("low_lab") for d in data["diseases"]]
    for d, lab in zip(data["diseases"], low_labs):
        if lab is not None and not (isinstance(lab.get("words"), str) and isinstance(lab.get("below"), dict) and lab["below"]
                                    and all(isinstance(v, (int, float)) for v in lab["below"].values())):
            raise SourceError(Errors.E105.format(path=mapping_path, line=0, details=(
                f"disease {d['id']!r}: low_lab needs 'words' (a regex) and 'below' (numbers by male/female/age_under_N)")))
    src = data["source"]
    return CommonKnowledge(
        name=src["name"], title=src["title"], license=src["license"], origin=src["origin"],
        ids=[d["id"] for d in data["diseases"]], names=[d["name"] for d in data["diseases"]],
        icd10cm=[d["icd10cm"] for d in data["diseases"]], severity=[d["severity"] for d in data["diseases"]],
        prior=prior, features=features, p=p, listed=listed, stated=stated, chronic=chronic, underlying=underlying,
        icd10_notes=[d.get("icd10cm_note") for d in data["diseases"]], low_labs=low_labs, shipped=True,
        same_as=same_as)


# -- user tables -------------------------------------------------------------------------
def _table(name: str, origin: Path, rows: dict[str, dict[str, float]], prior: dict[str, float] | None,
           title: str) -> CommonKnowledge:
    diseases = list(rows)
    symptoms = sorted({s for r in rows.values() for s in r})
    fi = {s: i for i, s in enumerate(symptoms)}
    p = np.full((len(diseases), len(symptoms)), LEAK)
    listed = np.zeros_like(p, dtype=bool)
    for d, r in enumerate(rows.values()):
        for s, q in r.items():
            p[d, fi[s]] = max(p[d, fi[s]], q)
            listed[d, fi[s]] = True
    p = np.clip(p, LEAK, CAP)
    pr = np.array([prior.get(d, 0.0) for d in diseases] if prior else np.ones(len(diseases)), dtype=float)
    pr = np.where(pr > 0, pr, pr[pr > 0].min() if (pr > 0).any() else 1.0)
    feats = [Feature(key=s, label=s, question=f"Do you have {s.lower()}?", patterns=_compile([re.escape(s.lower())]))
             for s in symptoms]
    return CommonKnowledge(name=name, title=title, license="as stated by the table's source (not shipped)",
                           origin=str(origin), ids=[f"{name}:{d}" for d in diseases], names=diseases,
                           icd10cm=[None] * len(diseases), severity=[None] * len(diseases), prior=pr / pr.sum(),
                           features=feats, p=p, listed=listed)


def _prob(raw, path: Path, line: int, what: str, percent: bool = False) -> float:
    try:
        v = float(str(raw).strip().rstrip("%"))
    except ValueError:
        raise SourceError(Errors.E105.format(path=path, line=line, details=f"{what} {raw!r} is not a number")) from None
    hi = 100.0 if percent else 1.0
    if not 0.0 <= v <= hi:
        raise SourceError(Errors.E105.format(path=path, line=line, details=f"{what} {raw!r} is outside 0..{hi:g}"))
    return v / hi


def _symcat_json(path: Path, name: str) -> CommonKnowledge:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(Errors.E105.format(path=path, line=exc.lineno, details=f"not valid JSON: {exc.msg}")) from None
    if not isinstance(data, dict) or not data:
        raise SourceError(Errors.E105.format(path=path, line=1, details='expected an object {"disease": [["symptom", probability], ...]}'))
    lines = {k: text[:text.find(json.dumps(k))].count("\n") + 1 for k in data}
    rows: dict[str, dict[str, float]] = {}
    for disease, items in data.items():
        line = lines.get(disease, 1)
        if not isinstance(items, list):
            raise SourceError(Errors.E105.format(path=path, line=line, details=f"disease {disease!r}: expected a list of [symptom, probability]"))
        r: dict[str, float] = {}
        for item in items:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and item[0].strip()):
                raise SourceError(Errors.E105.format(path=path, line=line, details=f"disease {disease!r}: item {item!r} is not [symptom, probability]"))
            q = _prob(item[1], path, line, f"disease {disease!r}, symptom {item[0]!r}: probability")
            if q > 0:
                r[item[0].strip()] = q
        rows[disease.replace("-", " ").strip().capitalize()] = r
    return _table(name, path, rows, None, "SymCAT disease-symptom probabilities")


def _csv(path: Path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        try:
            for row in reader:
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise SourceError(Errors.E105.format(path=path, line=reader.line_num, details=exc)) from None


def _symcat_csv(path: Path, name: str) -> CommonKnowledge:
    rows: dict[str, dict[str, float]] = {}
    for line, row in _csv(path):
        # the scrape nests each page's rows under a prefix (selection1_, selection2_selection1_,
        # selection2_selection2_selection1_, ...): a row's disorder is in whichever prefix it fills
        for key in [k for k, v in row.items() if k and k.endswith("disorder_name") and (v or "").strip()]:
            pre = key[: -len("disorder_name")]
            symptom = (row.get(pre + "name") or "").strip()
            disorder = row[key].strip()
            prob = (row.get(pre + "disorder_probability") or "").strip()
            if not symptom:
                raise SourceError(Errors.E105.format(path=path, line=line, details=f"the disorder row has no symptom ({pre}name is empty)"))
            if not prob:
                raise SourceError(Errors.E105.format(path=path, line=line, details=f"disorder {disorder!r} has no {pre}disorder_probability"))
            rows.setdefault(disorder, {})[symptom] = _prob(prob, path, line, f"{pre}disorder_probability", percent=True)
    if not rows:
        raise SourceError(Errors.E105.format(path=path, line=2, details="no symptom-disorder rows"))
    return _table(name, path, rows, None, "SymCAT 474 symptoms (P(disorder | symptom) used as a proxy of P(symptom | disorder))")


def _umls_name(cell: str) -> str:
    first = cell.split("^")[0].strip()
    return first.split("_", 1)[1].strip() if "_" in first else first


def _columbia(path: Path, name: str) -> CommonKnowledge:
    order: dict[str, list[str]] = {}
    counts: dict[str, float] = {}
    current = None
    for line, row in _csv(path):
        disease = (row.get("Disease") or "").strip()
        symptom = (row.get("Symptom") or "").strip()
        occ = (row.get("disease_occurrence") or "").strip()
        if disease:
            current = _umls_name(disease)
            if not current:
                raise SourceError(Errors.E105.format(path=path, line=line, details=f"disease {disease!r} has no name after the CUI"))
            if occ:
                try:
                    counts[current] = float(occ)
                except ValueError:
                    raise SourceError(Errors.E105.format(path=path, line=line, details=f"disease_occurrence {occ!r} is not a number")) from None
        elif current is None:
            raise SourceError(Errors.E105.format(path=path, line=line, details="the first row has no Disease"))
        if not symptom:
            continue
        order.setdefault(current, [])
        s = _umls_name(symptom)
        if s and s not in order[current]:
            order[current].append(s)
    if not order:
        raise SourceError(Errors.E105.format(path=path, line=2, details="no disease-symptom rows"))
    rows = {d: {s: 0.9 - 0.6 * r / max(1, len(ss)) for r, s in enumerate(ss)} for d, ss in order.items()}
    return _table(name, path, rows, counts, "Columbia disease-symptom knowledge base (P from association rank)")


# -- demographics ------------------------------------------------------------------------
@dataclass
class DemographicRule:
    why: str
    ids: frozenset[str]
    names: list[re.Pattern]
    icd10cm: tuple[str, ...]
    sex: str | None = None
    age_min: float | None = None
    age_max: float | None = None
    age_factors: list[tuple[float, float, float]] = field(default_factory=list)
    sex_factors: dict[str, float] = field(default_factory=dict)

    def matches(self, did: str, name: str, code: str | None) -> bool:
        if did in self.ids:
            return True
        if code and self.icd10cm and code.startswith(self.icd10cm):
            return True
        return any(p.search(name) for p in self.names)


@lru_cache(maxsize=2)
def demographic_rules(path: str | None = None) -> tuple[DemographicRule, ...]:
    """The age/sex rules (``resources/en/common/demographics.json``)."""
    p = Path(path) if path else resource_path("common/demographics.json")
    data = json.loads(p.read_text(encoding="utf-8"))
    out = []
    allowed = {"why", "ids", "names", "icd10cm", "sex", "age_min", "age_max", "age_factors", "sex_factors"}
    for i, r in enumerate(data["rules"]):
        bad = set(r) - allowed
        if bad:
            raise SourceError(Errors.E105.format(path=p, line=i + 1, details=f"rule {i + 1}: unknown key(s) {sorted(bad)}"))
        out.append(DemographicRule(why=r["why"], ids=frozenset(r.get("ids", [])),
                                   names=[re.compile(n, re.IGNORECASE) for n in r.get("names", [])],
                                   icd10cm=tuple(r.get("icd10cm", [])), sex=r.get("sex"), age_min=r.get("age_min"),
                                   age_max=r.get("age_max"), age_factors=[tuple(x) for x in r.get("age_factors", [])],
                                   sex_factors=r.get("sex_factors", {})))
    return tuple(out)


def demographic_effect(did: str, name: str, code: str | None, age: float | None, sex: str | None,
                       rules: Sequence[DemographicRule] | None = None) -> tuple[float, str | None]:
    """``(factor, exclusion reason)`` of a disease for a patient: factor 0 = excluded."""
    factor = 1.0
    for r in rules if rules is not None else demographic_rules():
        if not r.matches(did, name, code):
            continue
        if sex and r.sex and sex != r.sex:
            return 0.0, f"{r.why} (patient: {sex})"
        if age is not None:
            if r.age_min is not None and age < r.age_min:
                return 0.0, f"{r.why} (patient: {age:g} years)"
            if r.age_max is not None and age > r.age_max:
                return 0.0, f"{r.why} (patient: {age:g} years)"
            for lo, hi, f in r.age_factors:
                if lo <= age < hi:
                    factor *= f
        if sex and sex in r.sex_factors:
            factor *= r.sex_factors[sex]
    return factor, None


# -- scorer ------------------------------------------------------------------------------
class CommonScorer:
    """Naive Bayes over a :class:`CommonKnowledge` with priors, age/sex and stated diagnoses."""

    def __init__(self, knowledge: CommonKnowledge, leak: float = NOTE_LEAK, stated_factor: float = STATED_FACTOR,
                 absent_weight: float = ABSENT_WEIGHT, history_factor: float = HISTORY_FACTOR,
                 max_findings: float | None = None, lab_factor: float = LAB_FACTOR,
                 chief_factor: float = CHIEF_FACTOR) -> None:
        self.k = knowledge
        self.chief_factor = chief_factor
        self.lab_factor = lab_factor
        self.max_findings = max_findings
        self.history_factor = history_factor
        self.stated_factor = stated_factor
        self.absent_weight = absent_weight
        if leak > LEAK:
            p = np.maximum(knowledge.p, leak)
            self.log_p, self.log_q = np.log(p), np.log1p(-p)
        else:
            self.log_p, self.log_q = knowledge.log_p, knowledge.log_q

    def score(self, present: Sequence[int], absent: Sequence[int] = (), stated: Sequence[int] = (),
              age: float | None = None, sex: str | None = None, use_prior: bool = True, known: Sequence[int] = (),
              measured: Sequence[int] = (), underlying: Sequence[int] = (), chief: Sequence[int] = ()
              ) -> tuple[np.ndarray, dict[int, str], np.ndarray]:
        """Log-posterior (unnormalized) of each disease.

        Args:
            present, absent: feature indices (unknown features are simply not given).
            stated: disease indices named by a present, current finding.
            known: chronic disease indices named in the past history (a known condition).
            measured: disease indices an abnormal result shows (a low hemoglobin: anemia).
            underlying: the known diseases known only through their underlying chronic disease (asthma for an
                asthma attack, COPD for its exacerbation): always ``HISTORY_FACTOR``, a risk, not the disease.
            chief: disease indices the chief complaint / reason for visit names (``CHIEF_FACTOR`` more).
            age, sex: the patient's, when known.
            use_prior: add the log prior.

        Returns:
            ``(scores, excluded, factors)``: excluded = disease index → reason (score -inf).
        """
        k = self.k
        present = list(dict.fromkeys(present))
        pset = set(present)
        absent = [a for a in dict.fromkeys(absent) if a not in pset]
        s = k.log_prior.copy() if use_prior else np.zeros(len(k.ids))
        like = np.zeros(len(k.ids))
        if present:
            like += self.log_p[:, present].sum(axis=1)
        if absent:
            like += self.absent_weight * self.log_q[:, absent].sum(axis=1)
        s += self.temper(len(present), len(absent)) * like
        for d in stated:
            s[d] += np.log(self.stated_factor)
        for d in known:
            if d not in stated:
                s[d] += np.log(HISTORY_FACTOR if d in underlying else self.history_factor)
        for d in measured:
            if d not in stated:
                s[d] += np.log(self.lab_factor)
        for d in dict.fromkeys(chief):
            s[d] += np.log(self.chief_factor)
        excluded: dict[int, str] = {}
        factors = np.ones(len(k.ids))
        if age is not None or sex is not None:
            rules = demographic_rules()
            for d in range(len(k.ids)):
                f, why = demographic_effect(k.ids[d], k.names[d], k.icd10cm[d], age, sex, rules)
                if why:
                    excluded[d] = why
                    s[d] = -np.inf
                elif f != 1.0:
                    factors[d] = f
                    s[d] += np.log(f)
        return s, excluded, factors

    def temper(self, n_present: int, n_absent: int) -> float:
        """The exponent of the findings' likelihood: 1, or ``max_findings / n`` when more findings are counted
        (n = present + absent at their weight), so that a long note counts as ``max_findings`` findings."""
        n = n_present + self.absent_weight * n_absent
        if self.max_findings is None or n <= self.max_findings:
            return 1.0
        return float(self.max_findings / n)

    @staticmethod
    def probabilities(scores: np.ndarray) -> np.ndarray:
        finite = np.isfinite(scores)
        if not finite.any():
            return np.zeros_like(scores)
        z = np.where(finite, np.exp(scores - scores[finite].max()), 0.0)
        return z / z.sum()


@dataclass(frozen=True)
class RedFlag:
    """A current finding (or several together) that sets the least triage level whatever the ranking."""

    why: str
    features: tuple[str, ...]
    level: str


@lru_cache(maxsize=4)
def red_flag_rules(path: str | None = None, known: frozenset[str] | None = None) -> tuple[RedFlag, ...]:
    """The red-flag rules (``resources/en/common/red_flags.json``): syncope, coughing or vomiting blood,
    stridor, swelling of the face/lips/tongue, chest pain on exertion or at rest, stroke signs ...

    Args:
        path: a rules file (default: the shipped one).
        known: the knowledge's feature keys; a rule naming another key is an error.

    Raises:
        SourceError: E1200 when a rule is malformed (the rule's number and what is wrong).
    """
    p = Path(path) if path else resource_path("common/red_flags.json")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(Errors.E104.format(source="red-flag rules", path=p, details=exc)) from None
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        raise SourceError(Errors.E1200.format(path=p, rule=0, details="no 'rules' list"))
    out = []
    for n, r in enumerate(rules, 1):
        if not isinstance(r, dict):
            raise SourceError(Errors.E1200.format(path=p, rule=n, details=f"{r!r} is not an object"))
        bad = set(r) - {"why", "all", "level"}
        if bad:
            raise SourceError(Errors.E1200.format(path=p, rule=n, details=f"unknown key(s) {sorted(bad)}"))
        feats = r.get("all")
        if not (isinstance(r.get("why"), str) and r["why"].strip()):
            raise SourceError(Errors.E1200.format(path=p, rule=n, details="'why' must be a non-empty text"))
        if not (isinstance(feats, list) and feats and all(isinstance(f, str) for f in feats)):
            raise SourceError(Errors.E1200.format(path=p, rule=n, details="'all' must be a non-empty list of feature keys"))
        if r.get("level") not in ("emergency", "soon"):
            raise SourceError(Errors.E1200.format(path=p, rule=n, details=f"level {r.get('level')!r} is not 'emergency' or 'soon'"))
        if known is not None:
            unknown = [f for f in feats if f not in known]
            if unknown:
                raise SourceError(Errors.E1200.format(path=p, rule=n, details=f"feature(s) {unknown} not in the knowledge"))
        out.append(RedFlag(why=r["why"], features=tuple(feats), level=r["level"]))
    return tuple(out)


LEVELS = ("self-care", "soon", "emergency")


def red_flags(present: Iterable[str], rules: Sequence[RedFlag]) -> list[RedFlag]:
    """The rules whose features are all among ``present`` (keys of current, present findings), most urgent first."""
    have = set(present)
    hits = [r for r in rules if all(f in have for f in r.features)]
    return sorted(hits, key=lambda r: -LEVELS.index(r.level))


def raise_for_red_flags(level: str, reason: str, flags: Sequence[RedFlag]) -> tuple[str, str]:
    """``(level, reason)`` raised to the most urgent red flag's level, if that is higher (never lowered)."""
    if not flags or LEVELS.index(flags[0].level) <= LEVELS.index(level):
        return level, reason
    top = [f.why for f in flags if f.level == flags[0].level]
    return flags[0].level, "red flag: " + "; ".join(top)


def triage(probs: np.ndarray, severity: Sequence[int | None], emergency_at: float = EMERGENCY_AT,
           supported: Sequence[bool] | None = None, lead_at: float | None = None, named: Sequence[int] = (),
           names: Sequence[str] | None = None) -> tuple[str, str]:
    """``(level, reason)``: emergency when the can't-miss diagnoses (severity 1-2) together reach
    ``emergency_at`` or lead the list (with ``lead_at``: when the most probable can't-miss diagnosis is
    ahead of every other diagnosis by that much); else the urgency of the most probable diagnosis
    ("see a doctor soon" also when the diagnoses of severity 1-3 together reach 0.5, or when a condition the
    note establishes, ``named``, has severity 1-3).

    Args:
        probs: probability of each disease.
        severity: DDXPlus severity of each (None = unknown, taken as 3).
        emergency_at: total probability of can't-miss diagnoses that makes it an emergency.
        supported: per disease, whether a current symptom supports it; a can't-miss diagnosis without
            one is taken as "see a doctor soon", and a diagnosis without one does not count towards the
            "soon" total (default: all supported).
        lead_at: None (a can't-miss diagnosis first in the list is enough), or the margin by which it must
            lead (notes: ``NOTE_LEAD_AT``).
        named: diseases the note establishes as current (stated as a current diagnosis, shown by a result),
            whatever their rank: one that needs a doctor (severity 1-3) makes it at least "see a doctor soon"
            (pneumonia named beside a first-ranked anemia), never an emergency. (A chronic disease of the past
            history is not passed: known GERD or atrial fibrillation is no reason to see a doctor about this visit.)
        names: disease names, for the reason.
    """
    if not len(probs) or probs.max() <= 0:
        return "soon", "no diagnosis could be ranked"
    top = int(np.argmax(probs))
    sev = [s if s is not None else 3 for s in severity]
    if supported is not None:
        sev = [3 if s <= 2 and not ok else s for s, ok in zip(sev, supported)]
    can_miss = float(sum(p for p, s in zip(probs, sev) if s <= 2))
    if lead_at is not None:
        best = max((p for p, s in zip(probs, sev) if s <= 2), default=0.0)
        other = max((p for p, s in zip(probs, sev) if s > 2), default=0.0)
        if best - other >= lead_at:
            return "emergency", f"a can't-miss condition leads the differential by {best - other:.2f}"
    elif sev[top] <= 2:
        return "emergency", "the most probable diagnosis is a can't-miss condition"
    if can_miss >= emergency_at:
        return "emergency", f"can't-miss conditions together have probability {can_miss:.2f}"
    # the diagnoses that need a doctor count towards "soon" only when something speaks for them: in a note's
    # flat probabilities, the prior mass of 30-odd unsupported diseases of severity 1-3 is no reason to see one
    ok = supported if supported is not None else [True] * len(sev)
    soon = float(sum(p for p, s, o in zip(probs, sev, ok) if s <= 3 and o))
    if sev[top] <= 3 or soon >= 0.5:
        return "soon", "the likely diagnoses need a doctor's assessment"
    raw = [s if s is not None else 3 for s in severity]
    serious = [d for d in named if raw[d] <= 3]
    if serious:
        what = names[serious[0]] if names is not None else "a condition"
        return "soon", f"{what}, which the note names, needs a doctor's assessment"
    return "self-care", "the likely diagnoses are mild and self-limiting"
