"""Questions about the knowledge graph: understand the question, answer with graph facts and their provenance.

::

    qa = GraphQA(kg)                                   # a KnowledgeGraph; the pipeline is built on first use
    qa.answer("what are the symptoms of Marfan syndrome?")   # Answer(kind="graph", intent="findings_of", ...)

Understanding: codes and ids written in the question (``E11.9``, ``HP:0001166``, ``ORPHA:558``) are read by pattern
and checked in the graph; the medical terms are the entities of a light medlens pipeline (sections, sentences,
dictionary recognizer, context, linker: about 1 ms a question) with their ranked concept links, plus a fuzzy graph
search (:meth:`KnowledgeGraph.search`) for the words the pipeline did not recognize. The terms are replaced by
``X``/``Y``/``Z`` and the wording classified by :class:`medlens.qa.intents.IntentClassifier`.

Answering (each answer item carries :class:`~medlens.qa.models.Evidence` of kind ``fact``: the edge, its source and
its provenance):

- ``findings_of``: ``has_phenotype`` / ``has_finding`` edges of the disease and of its OMIM and Orphanet equivalents
  (``map_to``), ranked by annotated frequency;
- ``icd10_code``: ``map_to(concept, "icd10cm")`` (the concept itself, cross-references, same name, then one broader
  level, said so);
- ``diseases_with_findings``: diseases annotated with every finding (or a more specific HPO term), absent findings
  counting against, ranked by how many findings match and their frequencies;
- ``definition``: name, type, definition and the codes of the concept in the other vocabularies;
- ``code_lookup``: the concept a code stands for;
- ``drugs_inducing`` / ``drugs_treating``: the learned (grown) relation layer, when the graph has one
  (:func:`medlens.kg.grown.relations_of`, also exported as ``medlens.relations.grown.relations_of``);
- ``synonyms``: the names of the concept and its equivalents.

Ambiguity: a term whose fuzzy candidates are different concepts of similar score, or a wording whose two likeliest
intents are close, fills ``readings``; two tied concepts are asked back (no answer), a close intent answers the
likelier reading and lists the other. No fact found: ``kind="none"`` with what was searched.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from medlens.errors import Errors, InputError, KnowledgeGraphError
from medlens.kg.store import Concept, KnowledgeGraph, Relation
from medlens.qa.models import Answer, AnswerItem, Evidence

PIPELINE_COMPONENTS = ("sections", "sentences", "dictionary_ner", "context", "linker")
"""The light pipeline that reads a question's terms."""
MAX_ANSWERS = 300
"""Most answer items per question (a disease's findings are a list of 50-150; the command line shows the top ``-n``)."""
FUZZY_MIN = 0.85
"""Least fuzzy-search score for a term the pipeline did not recognize."""
TIE = 0.03
"""Fuzzy candidates of different concepts within this score of the best one are a tie (readings)."""
INTENT_AMBIGUOUS = 0.45
"""Below this intent probability, with a runner-up above :data:`INTENT_RUNNER_UP`, the wording is ambiguous."""
INTENT_RUNNER_UP = 0.25
GROWN_PREDICATES = {"drugs_inducing": ("induces", "adverse_event"), "drugs_treating": ("treats",)}
"""Predicates of the grown relation layer read for each drug intent (edges pointing at the condition)."""
DISEASE_VOCABS = ("omim", "orphanet", "ddxplus")
"""Vocabularies holding phenotype annotations of diseases."""

INTENT_TEXT = {
    "findings_of": "the symptoms and findings of {x}",
    "icd10_code": "the ICD-10-CM code of {x}",
    "diseases_with_findings": "the diseases with {x}",
    "definition": "what {x} is",
    "code_lookup": "what the code {x} stands for",
    "drugs_inducing": "the drugs that can induce {x}",
    "drugs_treating": "the drugs that treat {x}",
    "synonyms": "the other names of {x}",
    "out_of_scope": "a question outside medicine ({x})",
}

# codes written in a question: prefixed ids, DrugBank ids, MeSH ids, ICD-10-CM codes
_CODE = re.compile(
    r"\b(?:(?P<prefixed>(?:HP|ORPHA|OMIM|MESH|ICD10CM|MEDLENS):[A-Z0-9.]+)"
    r"|(?P<vocab>(?:hpo?|omim|mim|orpha|orphanet|mesh)\s*[:#]?\s*(?:[CD]\d{6,9}|\d{3,7})(?![\d.]))"
    r"|(?P<drugbank>DB\d{5})"
    r"|(?P<mesh>[CD]\d{6,9})"
    r"|(?P<icd>[A-TV-Z]\d[0-9AB](?:\.[0-9A-Z]{1,4})?))\b",
    re.IGNORECASE,
)
_ABBREVIATION = re.compile(r"[A-Z][A-Z0-9]{1,5}")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


@dataclass
class Term:
    """A medical term of a question: the words, where they are, and their candidate concepts (best first)."""

    text: str
    start: int
    end: int
    label: str
    candidates: list[tuple[str, str, float, str]]  # (concept id, name, score, method)
    absent: bool = False
    code: bool = False
    readings: list[tuple[str, str]] = field(default_factory=list)  # tied concepts (id, name) when ambiguous
    senses: list[tuple[str, str]] = field(default_factory=list)  # an abbreviation's meanings in the graph (id, name)

    @property
    def ids(self) -> list[str]:
        """The ids of the term's best sense (every candidate scoring within 0.051 of the best)."""
        if not self.candidates:
            return []
        best = self.candidates[0][2]
        return [c[0] for c in self.candidates if c[2] >= best - 0.051]


@dataclass
class Understanding:
    """What the question was read as: its terms, its masked wording and the intent prediction."""

    question: str
    terms: list[Term]
    masked: str
    intent: str
    probability: float
    probabilities: dict[str, float]


def _read_codes(kg: KnowledgeGraph, question: str) -> list[Term]:
    terms = []
    for m in _CODE.finditer(question):
        raw = m.group(0)
        if m.group("vocab"):
            word, num = re.match(r"([A-Za-z]+)\s*[:#]?\s*(\S+)", raw).groups()
            prefix = {"hp": "HP", "hpo": "HP", "omim": "OMIM", "mim": "OMIM", "orpha": "ORPHA", "orphanet": "ORPHA",
                      "mesh": "MESH"}[word.lower()]
            cands = [f"{prefix}:{num.upper()}"] + ([f"HP:{int(num):07d}"] if prefix == "HP" and num.isdigit() else [])
        elif m.group("prefixed"):
            prefix, rest = raw.split(":", 1)
            cands = [f"{prefix.upper()}:{rest.upper()}"]
        elif m.group("drugbank"):
            cands = [raw.upper()]
        elif m.group("mesh"):
            cands = [f"MESH:{raw.upper()}"]
        else:
            cands = [f"ICD10CM:{raw.upper()}"]
            if "." not in raw and len(raw) > 3:
                cands.append(f"ICD10CM:{raw[:3].upper()}.{raw[3:].upper()}")
        for cid in cands:
            c = kg.concept(cid)
            if c is not None:
                terms.append(Term(raw, m.start(), m.end(), c.label, [(c.id, c.name, 1.0, "code")], code=True))
                break
    return terms


@lru_cache(maxsize=4)
def _pipeline(kg_path: str):
    import medlens

    return medlens.load(components=PIPELINE_COMPONENTS, kg_path=kg_path)


class GraphQA:
    """Answer questions about a knowledge graph.

    Args:
        kg: the graph.
        nlp: a medlens pipeline with ``linker`` (None: the light pipeline on ``kg``'s file, built on first use).
        classifier: an :class:`~medlens.qa.intents.IntentClassifier` (None: the shipped intents).
        max_answers: most answer items per question.
    """

    def __init__(self, kg: KnowledgeGraph, nlp=None, classifier=None, max_answers: int = MAX_ANSWERS) -> None:
        self.kg = kg
        self._nlp = nlp
        self._classifier = classifier
        self.max_answers = max_answers
        self._pending_readings: list[str] = []

    @property
    def nlp(self):
        if self._nlp is None:
            self._nlp = _pipeline(str(self.kg.path))
        return self._nlp

    @property
    def classifier(self):
        if self._classifier is None:
            from medlens.qa.intents import default_classifier

            self._classifier = default_classifier()
        return self._classifier

    # -- understanding -------------------------------------------------------------------------------------------
    def terms(self, question: str) -> list[Term]:
        """The medical terms of ``question`` with their candidate concepts, in reading order."""
        terms = _read_codes(self.kg, question)
        taken = [(t.start, t.end) for t in terms]

        def free(s: int, e: int) -> bool:
            return all(e <= a or s >= b for a, b in taken)

        doc = self.nlp(question)
        for ent in doc.ents:
            links = list(ent._.concepts or ())
            if not links or not free(ent.start_char, ent.end_char):
                continue
            assertion = ent._.assertion
            absent = bool(assertion and assertion.status in ("negated", "absent"))
            terms.append(Term(ent.text, ent.start_char, ent.end_char, ent.label_,
                              [(c.concept_id, c.name, float(c.score), c.method) for c in links], absent=absent))
            taken.append((ent.start_char, ent.end_char))
        terms.extend(self._fuzzy_terms(question, terms))
        for t in terms:
            if not t.code and _ABBREVIATION.fullmatch(t.text):
                t.senses = self._abbreviation_senses(t.text, {c[0] for c in t.candidates})
        return sorted(terms, key=lambda t: t.start)

    def _abbreviation_senses(self, text: str, linked: set[str]) -> list[tuple[str, str]]:
        """The distinct concepts the graph names with exactly ``text`` (an abbreviation), one per sense: "CP" is
        chest pain, cerebral palsy and cleft palate. Senses are told apart by their names (word order, case and
        "unspecified" ignored)."""
        rows = self.kg.query(
            "SELECT c.id, c.name FROM synonyms s JOIN concepts c ON c.id = s.concept_id WHERE s.text = ? AND "
            "c.label IN ('DISEASE', 'SYMPTOM', 'FINDING', 'DRUG') ORDER BY c.id", (text,)).fetchall()
        senses: dict[str, tuple[str, str]] = {}
        own = None
        for cid, name in rows:
            if cid in linked:  # the meaning the linker chose (one sense, whatever its names)
                own = own or (cid, name)
                continue
            key = " ".join(sorted(_plain_code_name(name).split()))
            senses.setdefault(key, (cid, name))
        if not senses or own is None:
            return []
        return [own, *senses.values()]

    def _fuzzy_terms(self, question: str, found: list[Term]) -> list[Term]:
        """Runs of words that are neither question wording nor covered by a found term, looked up by fuzzy search.

        A run that overlaps a found term and is longer than it ("heart attck", where only "heart" was recognized)
        replaces the term when the search finds the whole run."""
        frame = set(self.classifier.spec.frame_words)
        joiners = set(self.classifier.spec.name_words)
        runs: list[list[re.Match]] = [[]]
        for m in _WORD.finditer(question):
            inside_code = any(t.code and t.start <= m.start() < t.end for t in found)
            word = m.group(0).lower()
            if inside_code or (word in frame and not (word in joiners and runs[-1])):
                runs.append([])
            else:
                runs[-1].append(m)
        out = []
        for run in runs:
            while run and run[0].group(0).isdigit():  # "icd 10 type 1 diabetes": the 10 belongs to the wording
                run = run[1:]
            if not run:
                continue
            s, e = run[0].start(), run[-1].end()
            covered = [t for t in found if t.start < e and t.end > s]
            if covered and all(t.start <= s and t.end >= e for t in covered):
                continue
            if found and not covered:
                # the pipeline found the question's terms: a run apart from them is wording, not a term
                continue
            text = question[s:e]
            if len(text) < 3:
                continue
            hits = self.kg.search(text, limit=8, min_score=FUZZY_MIN)
            hits = [h for h in hits if h.concept.label != "OTHER" and (len(run) > 1 or h.score >= 0.93)]
            if not hits:
                continue
            if covered and hits[0].score < 0.9:
                continue
            for t in covered:
                found.remove(t)
            best = hits[0].score
            cands = [(h.concept.id, h.concept.name, round(float(h.score), 4), "fuzzy") for h in hits]
            term = Term(text, s, e, hits[0].concept.label, cands)
            tied: dict[str, tuple[str, str]] = {}
            matched = set()
            for h in hits:
                if h.score >= best - TIE:
                    tied.setdefault(_norm(h.concept.name), (h.concept.id, h.concept.name))
                    matched.add(h.matched)
            # one long name shared by several vocabularies is one sense; an abbreviation may name several
            several = len({_norm(m) for m in matched}) > 1 or any(_ABBREVIATION.fullmatch(m) for m in matched)
            if len(tied) > 1 and several and not self._same_sense([v[0] for v in tied.values()]):
                term.readings = list(tied.values())
            out.append(term)
        return out

    def _same_sense(self, ids: list[str]) -> bool:
        """True when every concept shares an exact name or a cross-reference with the first."""
        first = ids[0]
        names = {_norm(s.text) for s in self.kg.synonyms(first) if s.kind in ("preferred", "exact")}
        names.add(_norm(self.kg.get(first).name))
        xrefs = {r.object for r in self.kg.relations(first, "xref", "both")} | {r.subject for r in self.kg.relations(first, "xref", "in")}
        for other in ids[1:]:
            c = self.kg.get(other)
            if other in xrefs or _norm(c.name) in names:
                continue
            if names & {_norm(s.text) for s in self.kg.synonyms(other) if s.kind in ("preferred", "exact")}:
                continue
            return False
        return True

    def understand(self, question: str) -> Understanding:
        """Read the question's terms and classify its wording."""
        terms = self.terms(question)
        masked, last = [], 0
        for i, t in enumerate(terms):
            masked.append(question[last:t.start])
            masked.append("XYZ"[min(i, 2)])
            last = t.end
        masked.append(question[last:])
        text = "".join(masked)
        pred = self.classifier.classify(text)
        intent = pred.intent
        if terms and all(t.code for t in terms) and intent in ("definition", "icd10_code"):
            intent = "code_lookup"
        if terms and all(t.code for t in terms) and (
                (intent == "diseases_with_findings" and all(t.label == "DISEASE" for t in terms))
                or (intent == "findings_of" and all(t.label != "DISEASE" for t in terms))
                or (intent in ("drugs_inducing", "drugs_treating", "synonyms") and all(t.label == "DRUG" for t in terms))):
            intent = "code_lookup"  # "which disease is ORPHA:355?", "which phenotype is HP:0004322?", "drugbank DB01050"
        if intent == "code_lookup" and terms and not any(t.code for t in terms):
            # no code to look up: the likeliest other reading ("Marfan syndrome code" asks for its code)
            intent = next(name for name in pred.probabilities if name != "code_lookup")
        return Understanding(question, terms, text, intent, pred.probability, pred.probabilities)

    # -- answering -----------------------------------------------------------------------------------------------
    def answer(self, question: str) -> Answer:
        """Answer ``question`` from the graph (see the module docstring)."""
        u = self.understand(question)
        if not u.terms:
            return Answer(question=question, kind="none", intent=u.intent,
                          searched=["question terms: the pipeline's entities, codes and a fuzzy search of the graph"],
                          message="No medical term of the question was found in the knowledge graph; name the disease, "
                                  "finding, drug or code the question is about.")
        tied = [t for t in u.terms if t.readings]
        if tied:
            t = tied[0]
            readings = [INTENT_TEXT[u.intent].format(x=f"{name} ({cid})") for cid, name in t.readings]
            return Answer(question=question, kind="graph", intent=u.intent, readings=readings,
                          searched=[f"graph concepts named like '{t.text}'"],
                          message=f"'{t.text}' can mean several concepts; ask again with one of the readings.")
        readings = []
        top = list(u.probabilities.items())
        if u.probability < INTENT_AMBIGUOUS and len(top) > 1 and top[1][1] >= INTENT_RUNNER_UP:
            x = " and ".join(t.text for t in u.terms)
            readings = [INTENT_TEXT[name].format(x=x) for name, _ in top[:2]]
        if u.intent == "out_of_scope":
            return Answer(question=question, kind="none", intent=u.intent, readings=readings,
                          searched=[f"question terms: {', '.join(t.text for t in u.terms)}"],
                          message="This does not read as a question the medical knowledge graph can answer (symptoms, "
                                  "codes, diseases with given findings, definitions, drugs, other names).")
        for t in u.terms:
            if t.senses:  # an abbreviation of several meanings: answer the usual one, list them all
                readings += [INTENT_TEXT[u.intent].format(x=f"{name} ({cid})") for cid, name in t.senses]
        handler = getattr(self, f"_{u.intent}")
        self._pending_readings = []
        items, searched, message = handler(u.terms)
        readings = readings + self._pending_readings
        answer = Answer(question=question, kind="graph" if items else "none", intent=u.intent,
                        answers=items[: self.max_answers], readings=readings, searched=searched, message=message)
        if items and len(items) > self.max_answers:
            answer.message = (message + " " if message else "") + f"Showing {self.max_answers} of {len(items)}."
        return answer

    def _subject(self, terms: list[Term]) -> Term:
        """The term a one-subject question is about: a disease if any, else the first."""
        for t in terms:
            if t.label == "DISEASE":
                return t
        return terms[0]

    def _equivalents(self, ids: list[str], vocabs: tuple[str, ...], vias: tuple[str, ...] = ("same", "xref", "name")) -> list[str]:
        """``ids`` and their equivalents in ``vocabs`` (``map_to`` without climbing; ``vias`` the accepted routes).
        ICD-10-CM codes are taken only by name: the cross-references of HPO terms to ICD-10-CM are loose."""
        out = dict.fromkeys(ids)
        have = {s.name for s in self.kg.sources()}
        for cid in ids:
            for v in vocabs:
                if v not in have:
                    continue
                for m in self.kg.map_to(cid, v, broader=0):
                    if m.via in vias and not (v == "icd10cm" and m.via == "xref"):
                        out.setdefault(m.concept_id)
        return list(out)

    def _findings_of(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        t = self._subject(terms)
        diseases = self._equivalents(t.ids, DISEASE_VOCABS)
        found: dict[str, dict] = {}
        lacking = {r.object for did in diseases for r in self.kg.relations(did, "lacks_phenotype")}
        for did in diseases:
            for pred in ("has_phenotype", "has_finding"):
                for r in self.kg.relations(did, pred):
                    if r.object in lacking:
                        continue
                    f = r.attrs.get("frequency")
                    slot = found.setdefault(r.object, {"freq": None, "ev": []})
                    if isinstance(f, (int, float)):
                        slot["freq"] = max(slot["freq"] or 0.0, float(f))
                    slot["ev"].append((did, r))
        names = self.kg.concepts(list(found) + diseases)
        items = []
        for fid, slot in found.items():
            freq = slot["freq"]
            score = (freq if freq is not None else 0.5) + 0.05 * min(len({d for d, _ in slot["ev"]}), 4)
            ev = [self._edge_evidence(r, names) for _, r in slot["ev"]]
            c = names.get(fid)
            items.append(AnswerItem(text=c.name if c else fid, id=fid, score=round(min(score, 1.0), 4), evidence=ev))
        items.sort(key=lambda i: (-i.score, i.text))
        searched = [f"has_phenotype and has_finding edges of {', '.join(diseases)} ('{t.text}')"]
        msg = "" if items else f"The graph annotates no symptoms or findings for '{t.text}' ({', '.join(t.ids)})."
        return items, searched, msg

    def _edge_evidence(self, r, names: dict[str, Concept]) -> Evidence:
        sname = names[r.subject].name if r.subject in names else r.subject
        oname = names[r.object].name if r.object in names else r.object
        attrs = r.attrs or {}
        prov = []
        if "frequency_raw" in attrs or "frequency" in attrs:
            raw = attrs.get("frequency_raw", attrs.get("frequency"))
            if isinstance(raw, str) and raw.startswith("HP:"):
                term = self.kg.concept(raw)
                raw = f"{term.name} ({raw})" if term else raw
            prov.append(f"frequency {raw}")
        for key in ("evidence", "reference", "onset", "sex"):
            if attrs.get(key):
                prov.append(f"{key} {attrs[key]}")
        freq = attrs.get("frequency")
        return Evidence(kind="fact", text=f"{sname} ({r.subject}) {r.predicate} {oname} ({r.object})",
                        source=r.source, provenance="; ".join(prov) or None,
                        weight=round(float(freq), 4) if isinstance(freq, (int, float)) else 0.5)

    def _icd10_code(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        t = self._subject(terms)
        from rapidfuzz import fuzz

        via_score = {"same": 1.0, "xref": 0.9, "name": 0.95, "broader": 0.5}
        best: dict[str, tuple[float, Evidence, str]] = {}
        for cid in self._equivalents(t.ids, ("ddxplus",), vias=("same", "name")):
            src = self.kg.get(cid)
            for m in self.kg.map_to(cid, "icd10cm", broader=1):
                # a code whose name reads like the term or its concept beats a loose cross-reference; "unspecified"
                # and "without complications" do not count against a code (the usual code of a plain diagnosis)
                like = max(fuzz.token_sort_ratio(_plain_code_name(m.name), _norm(x)) for x in (t.text, src.name)) / 100
                score = round(via_score.get(m.via, 0.5) * (0.4 + 0.6 * like), 4)
                text = (f"{src.name} ({cid}) is the ICD-10-CM concept itself" if m.via == "same"
                        else f"{src.name} ({cid}) -> {m.name} ({m.concept_id}) by {m.via} (path {' -> '.join(m.path)})")
                ev = Evidence(kind="fact", text=text, source="icd10cm", provenance=f"map_to via {m.via}", weight=score)
                if m.concept_id not in best or best[m.concept_id][0] < score:
                    best[m.concept_id] = (score, ev, m.name)
        if not best:
            # no mapping: ICD-10-CM names that read like the term (fuzzy search of the graph)
            names = dict.fromkeys([t.text] + [c[1] for c in t.candidates if c[0] in t.ids])
            hits = [h for n in names for h in self.kg.search(n, limit=5, min_score=FUZZY_MIN)]
            for h in sorted(hits, key=lambda h: -h.score):
                if h.concept.id.startswith("ICD10CM:"):
                    score = round(0.8 * h.score, 4)
                    ev = Evidence(kind="fact", text=f"'{h.matched}' is a name of {h.concept.name} ({h.concept.id})",
                                  source="icd10cm", provenance=f"name search, similarity {h.score:.2f}", weight=score)
                    best.setdefault(h.concept.id, (score, ev, h.concept.name))
        items = [AnswerItem(text=f"{code.removeprefix('ICD10CM:')} {name}", id=code, score=s, evidence=[ev])
                 for code, (s, ev, name) in best.items()]
        # among equally good codes: a billable one (no subcodes) first, then the shorter
        leaf = {i.id: not self.kg.children(i.id) for i in items}
        items.sort(key=lambda i: (-i.score, not leaf[i.id], len(i.id or ""), i.id))
        if items and "-" in (items[0].id or ""):
            # a block of categories (E08-E13) is no code: ask which of its categories is meant
            block = self.kg.concepts(self.kg.children(items[0].id))
            self._pending_readings = [f"the ICD-10-CM code of {c.name} ({c.id})" for c in block.values()]
            msg = f"'{t.text}' names the block {items[0].id}; which of its categories is meant?"
            return [], [f"ICD-10-CM mappings (map_to) of {', '.join(t.ids)} ('{t.text}')"], msg
        msg = "" if items else f"No ICD-10-CM code is linked to '{t.text}' ({', '.join(t.ids)}) in the graph."
        if items and all("broader" in (i.evidence[0].provenance or "") for i in items):
            msg = f"The graph has no ICD-10-CM code for '{t.text}' itself; these are the codes of a broader concept."
        return items, [f"ICD-10-CM mappings (map_to) of {', '.join(t.ids)} ('{t.text}')"], msg

    def _hpo_terms(self, t: Term) -> list[str]:
        out = []
        for cid in t.ids:
            if cid.startswith("HP:"):
                out.append(cid)
            elif "hpo" in {s.name for s in self.kg.sources()}:
                out.extend(m.concept_id for m in self.kg.map_to(cid, "hpo", broader=0))
        return list(dict.fromkeys(out))

    def _diseases_with_findings(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        present = [t for t in terms if not t.absent]
        absent = [t for t in terms if t.absent]
        per_disease: dict[str, dict] = defaultdict(lambda: {"hits": {}, "against": []})
        searched = []
        usable = 0
        for t in present + absent:
            hps = self._hpo_terms(t)
            seeds = hps or t.ids
            closure = list(seeds)
            for hp in hps:
                closure.extend(self.kg.descendants(hp, limit=300))
            closure = list(dict.fromkeys(closure))
            searched.append(f"diseases annotated with {', '.join(seeds)} or a more specific term ('{t.text}')")
            if not closure:
                continue
            usable += 1
            for i in range(0, len(closure), 500):
                chunk = closure[i:i + 500]
                q = ("SELECT subject, predicate, object, source, attrs FROM relations WHERE predicate IN "
                     f"('has_phenotype','has_finding') AND object IN ({','.join('?' * len(chunk))})")
                for row in self.kg.query(q, chunk):
                    r = Relation(*row[:4], attrs=json.loads(row[4]) if row[4] else {})
                    slot = per_disease[r.subject]
                    if t.absent:
                        slot["against"].append(r)
                    else:
                        f = r.attrs.get("frequency")
                        f = float(f) if isinstance(f, (int, float)) else 0.5
                        prev = slot["hits"].get(t.text)
                        if prev is None or prev[0] < f:
                            slot["hits"][t.text] = (f, r)
        n_present = len(present)
        if not n_present or not usable:
            return [], searched, "No finding of the question is annotated in the graph."
        ranked = []
        for did, slot in per_disease.items():
            if not slot["hits"]:
                continue
            matched = len(slot["hits"])
            mean_f = sum(f for f, _ in slot["hits"].values()) / matched
            score = matched / n_present * (0.5 + 0.5 * mean_f) - 0.3 * len(slot["against"])
            ranked.append((score, matched, did, slot))
        ranked.sort(key=lambda x: (-x[1], -x[0], x[2]))
        every = [x for x in ranked if x[1] == n_present]
        if every:  # "diseases with X and Y": those with all the findings
            ranked = every
        ranked = ranked[: self.max_answers * 3]
        names = self.kg.concepts([d for _, _, d, _ in ranked] + [r.object for *_, s in ranked for _, r in s["hits"].values()]
                                 + [r.object for *_, s in ranked for r in s["against"]])
        items, seen = [], set()
        for score, matched, did, slot in ranked:
            c = names.get(did)
            if c is None:
                continue
            if did in seen:
                continue
            seen.add(did)
            ev = [self._edge_evidence(r, names) for _, r in slot["hits"].values()]
            for r in slot["against"]:
                e = self._edge_evidence(r, names)
                e.provenance = "reported absent; " + (e.provenance or "")
                e.weight = 0.0
                ev.append(e)
            items.append(AnswerItem(text=c.name, id=did, score=round(max(score, 0.0), 4), evidence=ev))
        msg = ""
        if items and n_present > 1 and not any(len([e for e in i.evidence if e.weight > 0]) == n_present for i in items):
            msg = "No disease of the graph has all the findings; these have some of them."
        return items, searched, msg

    def _definition(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        t = self._subject(terms)
        concepts = self.kg.concepts(self._equivalents(t.ids, ("mesh", "hpo")))
        asked = _norm(t.text)

        def rank(c: Concept) -> tuple:
            # the concept named as asked, then the linked ones, then one with a definition
            return (_norm(c.name) != asked, c.id not in t.ids, not c.definition)

        main = min(concepts.values(), key=rank, default=None)
        if main is not None and not main.definition:
            main = next((c for c in sorted(concepts.values(), key=rank) if c.definition and c.id in t.ids), main)
        if main is None:
            return [], [f"concepts {', '.join(t.ids)}"], f"'{t.text}' is not in the graph."
        return self._describe(main, concepts), [f"definitions, types and codes of {', '.join(concepts)} ('{t.text}')"], ""

    def _describe(self, main: Concept, concepts: dict[str, Concept]) -> list[AnswerItem]:
        ev = []
        if main.definition:
            ev.append(Evidence(kind="fact", text=main.definition, source=main.source,
                               provenance=f"definition of {main.id}", weight=1.0))
        ev.append(Evidence(kind="fact", text=f"{main.name} ({main.id}) is a {main.label.lower()} of {main.source}",
                           source=main.source, provenance="concept label", weight=1.0))
        parents = self.kg.concepts(self.kg.parents(main.id))
        for p in list(parents.values())[:5]:
            ev.append(Evidence(kind="fact", text=f"{main.name} ({main.id}) is_a {p.name} ({p.id})", source=main.source,
                               provenance="is_a", weight=0.8))
        items = [AnswerItem(text=main.name, id=main.id, score=1.0, evidence=ev)]
        others = dict(concepts)
        have = {s.name for s in self.kg.sources()}
        for v in ("icd10cm", "mesh", "hpo", "omim", "orphanet"):
            if v in have:
                for m in self.kg.map_to(main.id, v, broader=0):
                    if v == "icd10cm" and m.via == "xref":
                        continue
                    if m.concept_id not in others:
                        others[m.concept_id] = self.kg.get(m.concept_id)
        for cid, c in others.items():
            if cid == main.id:
                continue
            items.append(AnswerItem(text=c.name, id=cid, score=0.8, evidence=[Evidence(
                kind="fact", text=f"{c.name} ({cid}): the same concept in {c.source}", source=c.source,
                provenance="cross-reference or same name", weight=0.8)]))
        return items

    def _code_lookup(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        t = next((x for x in terms if x.code), terms[0])
        c = self.kg.get(t.candidates[0][0])
        return self._describe(c, {c.id: c}), [f"the concept {c.id}"], ""

    def _synonyms(self, terms: list[Term]) -> tuple[list[AnswerItem], list[str], str]:
        t = self._subject(terms)
        ids = self._equivalents(t.ids, ("mesh", "hpo", "icd10cm"), vias=("same", "name"))
        order = {"preferred": 0, "exact": 1, "abbreviation": 2, "brand": 2, "lay": 3, "related": 4, "inclusion": 5,
                 "narrow": 6, "broad": 6, "mention": 7}
        best: dict[str, tuple[int, str, str, str]] = {}
        for cid in ids:
            for s in self.kg.synonyms(cid):
                key = _norm(s.text)
                rank = order.get(s.kind, 5)
                if key not in best or best[key][0] > rank:
                    best[key] = (rank, s.text, cid, s.kind + "|" + s.source)
        items = []
        for key, (rank, text, cid, kind_source) in sorted(best.items(), key=lambda kv: (kv[1][0], kv[1][1].lower())):
            kind, source = kind_source.split("|", 1)
            if key == _norm(t.text):
                continue
            items.append(AnswerItem(text=text, id=cid, score=round(1.0 - rank / 10, 2), evidence=[Evidence(
                kind="fact", text=f"'{text}' is a {kind} name of {cid}", source=source, provenance=f"synonym ({kind})",
                weight=round(1.0 - rank / 10, 2))]))
        msg = "" if items else f"The graph has no other name for '{t.text}'."
        return items, [f"names of {', '.join(ids)} ('{t.text}')"], msg

    def _grown(self, terms: list[Term], intent: str) -> tuple[list[AnswerItem], list[str], str]:
        """Drugs pointing at the condition in the learned (grown) layer (``medlens.kg.grown``)."""
        t = self._subject(terms)
        what = "induce" if intent == "drugs_inducing" else "treat"
        searched = [f"learned (grown) edges {'/'.join(GROWN_PREDICATES[intent])} into '{t.text}'"]
        no_layer = (f"The graph has no learned relation layer (grow one with `medlens kg grow`), so it holds no "
                    f"drug-{what}s-condition edges; nothing was answered.")
        from medlens.kg import grown as grown_mod

        if grown_mod.grown_layer(self.kg) is None:
            return [], searched, no_layer
        ids = self._equivalents(t.ids, ("mesh",))
        searched = [f"learned (grown) edges {'/'.join(GROWN_PREDICATES[intent])} into {', '.join(ids)} ('{t.text}')"]
        best: dict[str, tuple[float, list[Evidence]]] = {}
        for cid in ids:
            for pred in GROWN_PREDICATES[intent]:
                try:
                    edges = grown_mod.relations_of(self.kg, cid, predicate=pred, direction="in", min_score=0.0, limit=50)
                except KnowledgeGraphError:  # a predicate this layer does not hold
                    continue
                for e in edges:
                    drug = _get(e, "head_id") or _get(e, "subject")
                    if not drug:
                        continue
                    score = float(_get(e, "score", 0.5) or 0.5)
                    methods = ", ".join(_get(e, "methods", ()) or ())
                    ev = [Evidence(kind="fact", text=f"{_get(e, 'head_name') or drug} ({drug}) {pred} "
                                                     f"{_get(e, 'tail_name') or cid} ({cid})",
                                   source="grown", weight=round(score, 4),
                                   provenance=f"learned from text: {_get(e, 'documents', '?')} documents"
                                              + (f"; {methods}" if methods else ""))]
                    ev += [_text_evidence(x) for x in (_get(e, "evidence", None) or ())[:3]]
                    if drug not in best or best[drug][0] < score:
                        best[drug] = (score, ev)
        names = self.kg.concepts(list(best))
        items = [AnswerItem(text=names[d].name if d in names else d, id=d, score=round(s, 4), evidence=ev)
                 for d, (s, ev) in best.items()]
        items.sort(key=lambda i: (-i.score, i.text))
        msg = "" if items else f"The learned relation layer has no drug that {what}s '{t.text}'."
        return items, searched, msg

    def _drugs_inducing(self, terms: list[Term]):
        return self._grown(terms, "drugs_inducing")

    def _drugs_treating(self, terms: list[Term]):
        return self._grown(terms, "drugs_treating")


def _get(obj, name: str, default=None):
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _text_evidence(s) -> Evidence:
    if isinstance(s, Evidence):
        return s
    if isinstance(s, str):
        return Evidence(kind="sentence", text=s, provenance="grown layer evidence")
    text = _get(s, "sentence") or _get(s, "text") or str(s)
    score = _get(s, "score")
    return Evidence(kind="sentence", text=str(text), doc_id=_get(s, "doc_id"), start=_get(s, "start"),
                    end=_get(s, "end"), weight=round(float(score), 4) if isinstance(score, (int, float)) else 0.0,
                    provenance="evidence of the learned edge" + (f" ({_get(s, 'method')})" if _get(s, "method") else ""))


_CODE_NAME_NOISE = re.compile(r"\b(?:unspecified(?: organism)?|without complications|uncomplicated|not elsewhere "
                              r"classified|nos)\b", re.IGNORECASE)


def _plain_code_name(name: str) -> str:
    """An ICD-10-CM name without the words of its unspecified code ("Unspecified asthma, uncomplicated" -> "asthma")."""
    return _norm(_CODE_NAME_NOISE.sub(" ", name))


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def check_question(question: object, limit: int) -> str:
    """The question stripped; raises InputError for a non-string, empty or too long question."""
    if not isinstance(question, str):
        raise InputError(Errors.E350.format(type=type(question).__name__))
    q = question.strip()
    if not q:
        raise InputError(Errors.E351)
    if len(q) > limit:
        raise InputError(Errors.E352.format(size=len(q), limit=limit))
    return q


__all__ = ["GraphQA", "Term", "Understanding", "check_question"]
