"""Relations from cue phrases, from the adverse-event component and from the curated graph (distant labels).

``medlens_relation_patterns`` APPENDS :class:`~medlens.doc.types.Relation` records to ``doc._.relations``
(the trained ``medlens_relations`` model, when it runs before, writes its own there first). Three readers,
each marking its relations with how they were found (``Relation.method``):

* ``pattern:<predicate>`` -- a cue phrase between two mentions of one sentence
  (``resources/en/relation_patterns.json``): ``treats`` (a drug or procedure treats a disease, symptom or
  finding: "metformin *for the treatment of* type 2 diabetes", "hypertension *treated with* lisinopril"),
  ``has_finding`` (a disease has a symptom or finding: "sarcoidosis *presenting with* uveitis", "fatigue
  *due to* anemia") and ``detects`` (a test detects a disease: "biopsy *confirmed* amyloidosis");
* ``pattern:ade`` / ``model:ade`` -- the adverse drug events of ``medlens_adverse_events``
  (``doc._.adverse_events``, when that component ran) become ``adverse_event`` relations, drug -> effect;
  negated events are left out, speculated ones keep a lower score;
* ``distant:<source>`` -- weak supervision: two mentions of one sentence whose concepts the curated graph
  already relates (a disease and one of its HPO phenotypes in OMIM or Orphanet) become a ``has_finding``
  relation. Such an edge repeats curated knowledge; its value is the sentence that states it.

A mention that is negated, hypothetical or about the family never takes part in a pattern or distant relation.

    >>> doc = nlp("Hypertension was treated with lisinopril.")
    >>> [(r.head, r.predicate, r.tail, r.method) for r in doc._.relations]
    [('lisinopril', 'treats', 'Hypertension', 'pattern:treats')]
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.components.drug_attributes import sentence_bounds
from medlens.doc import extensions
from medlens.doc.types import AdverseEvent, Relation
from medlens.resources import load_resource

RULES_FILE = "relation_patterns.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CueGroup(_Strict):
    """Cue phrases of one order and score (see the rules file's description)."""

    order: Literal["head_first", "tail_first"]
    score: float = Field(gt=0, le=1)
    cues: list[str] = Field(min_length=1)
    max_extra_words: int | None = Field(None, ge=0, le=10)
    head_labels: list[str] | None = None
    head_not_after: list[str] = []
    """Words that, written earlier in the head's clause, make the head a side remark rather than the subject
    ("67 y/o man with a history of HTN and hyperlipidemia who presented with chest pain": the chest pain is
    the patient's, not hyperlipidemia's); the group does not fire then."""


class PredicateRules(_Strict):
    name: str = Field(pattern=r"^[a-z_]+$")
    head_labels: list[str] = Field(min_length=1)
    tail_labels: list[str] = Field(min_length=1)
    veto_words: list[str] = []
    groups: list[CueGroup] = Field(min_length=1)


class AdeSettings(_Strict):
    predicate: str = "adverse_event"
    rules_score: float = Field(0.7, gt=0, le=1)
    model_score: float = Field(0.75, gt=0, le=1)
    both_score: float = Field(0.85, gt=0, le=1)
    speculated_factor: float = Field(0.6, gt=0, le=1)
    keep_speculated: bool = True


class DistantRule(_Strict):
    curated_predicate: str
    predicate: str
    sources: list[str] = Field(min_length=1)
    score: float = Field(gt=0, le=1)
    head_labels: list[str] | None = None
    tail_labels: list[str] | None = None


class PatternRules(_Strict):
    """The schema of ``relation_patterns.json``."""

    description: str = ""
    max_extra_words: int = Field(3, ge=0, le=10)
    stop_gap: str = ";"
    veto_words: list[str] = []
    predicates: list[PredicateRules]
    adverse_events: AdeSettings = AdeSettings()
    distant: list[DistantRule] = []


def load_pattern_rules(path: str | None = None) -> PatternRules:
    """The pattern rules (``path``, or the shipped ``relation_patterns.json``); ResourceError when invalid."""
    return load_resource(path or RULES_FILE, PatternRules)


@dataclass(frozen=True, slots=True)
class _Mention:
    text: str
    start: int
    end: int
    label: str
    best: str
    candidates: frozenset[str]
    excluded: bool  # negated, hypothetical or family


def _mention(span: Span) -> _Mention | None:
    concepts = span._.concepts or []
    ids = [c.concept_id for c in concepts] + list(span._.match_ids or ())
    if not ids:
        return None
    a = span._.assertion
    excluded = bool(a is not None and (a.negated or a.hypothetical or a.family))
    return _Mention(span.text, span.start_char, span.end_char, span.label_, ids[0], frozenset(ids), excluded)


def _group_regex(cues: Sequence[str], extra: int) -> re.Pattern[str]:
    """The whole gap between two mentions: a cue with at most ``extra`` other words around it."""
    alts = "|".join(r"\s+".join(re.escape(w) for w in c.lower().split()) for c in sorted(set(cues), key=len, reverse=True))
    word = r"[^\W_][\w'’/-]*"
    return re.compile(rf"^\W*(?:{word}\W+){{0,{extra}}}(?:{alts})(?:\W+{word}){{0,{extra}}}\W*$", re.IGNORECASE)


def _clause_before(text: str, sent_start: int, head_start: int) -> str:
    """The words of the head's clause before the head (from the sentence start or the last ';' / ':')."""
    before = text[sent_start:head_start]
    cut = max(before.rfind(";"), before.rfind(":"))
    return before[cut + 1:]


def _words_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    """Any of ``words`` as a whole word (None when there are none)."""
    if not words:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
                      + r")(?![\w-])", re.IGNORECASE)


class RelationPatterns:
    """The ``medlens_relation_patterns`` component (see the module docstring).

    Args:
        name: the component's name in the pipeline.
        kg: the knowledge graph, for distant labels (None: no distant labels).
        rules: the pattern rules (None: the shipped ones).
        adverse_events: turn ``doc._.adverse_events`` into ``adverse_event`` relations.
    """

    def __init__(self, name: str = "medlens_relation_patterns", *, kg=None, rules: PatternRules | None = None,
                 adverse_events: bool = True) -> None:
        extensions.register()
        self.name = name
        self.kg = kg
        self.rules = rules or load_pattern_rules()
        self.use_ade = adverse_events
        self._compiled = [
            (p, [(g, _group_regex(g.cues, g.max_extra_words if g.max_extra_words is not None else self.rules.max_extra_words),
                  _words_regex(g.head_not_after)) for g in p.groups],
             _words_regex([*self.rules.veto_words, *p.veto_words]))
            for p in self.rules.predicates
        ]
        self._labels = frozenset(x for p in self.rules.predicates for x in (*p.head_labels, *p.tail_labels))
        self._distant = {(d.curated_predicate, s): d for d in self.rules.distant for s in d.sources}

    @property
    def predicates(self) -> list[str]:
        """The predicates this component can write."""
        names = [p.name for p in self.rules.predicates] + [d.predicate for d in self.rules.distant]
        if self.use_ade:
            names.append(self.rules.adverse_events.predicate)
        return list(dict.fromkeys(names))

    # -- reading ---------------------------------------------------------------------------------------
    def predict(self, doc: Doc) -> list[Relation]:
        """The relations of ``doc`` (pure: nothing is written)."""
        text = doc.text
        sents = sentence_bounds(doc) or [(0, len(text))]
        starts = [a for a, _ in sents]
        by_sent: dict[int, list[_Mention]] = {}
        for ent in doc.ents:
            m = _mention(ent)
            if m is not None:
                by_sent.setdefault(max(0, bisect_right(starts, m.start) - 1), []).append(m)
        found: dict[tuple[str, str, str, int], Relation] = {}

        def keep(r: Relation, k: int) -> None:
            key = (r.head_id, r.predicate, r.tail_id, k)
            if key not in found or r.score > found[key].score:
                found[key] = r

        for k, mentions in by_sent.items():
            a, b = sents[k]
            span = (a, a + len(text[a:b].rstrip()))
            for r in self._patterns(text, mentions, span):
                keep(r, k)
        if self.kg is not None and self._distant:
            for k, r in self._distant_labels(by_sent, sents, text):
                keep(r, k)
        out = list(found.values())
        if self.use_ade:
            out += self._from_events(doc._.adverse_events or ())
        return out

    def _patterns(self, text: str, mentions: list[_Mention], sent: tuple[int, int]) -> list[Relation]:
        out = []
        ms = sorted(mentions, key=lambda m: m.start)
        for pred, groups, veto in self._compiled:
            for h in ms:
                if h.label not in pred.head_labels or h.excluded:
                    continue
                for t in ms:
                    if t is h or t.label not in pred.tail_labels or t.excluded or t.best == h.best:
                        continue
                    if h.end <= t.start:
                        lo, hi, order = h.end, t.start, "head_first"
                    elif t.end <= h.start:
                        lo, hi, order = t.end, h.start, "tail_first"
                    else:
                        continue
                    gap = text[lo:hi]
                    if any(c in gap for c in self.rules.stop_gap) or len(gap) > 120 or (veto and veto.search(gap)):
                        continue
                    if any(m.label in self._labels and m.start >= lo and m.end <= hi for m in ms if m is not h and m is not t):
                        continue  # the nearest pair only
                    before = _clause_before(text, sent[0], h.start)
                    score = max((g.score for g, rx, nx in groups if g.order == order
                                 and (g.head_labels is None or h.label in g.head_labels) and rx.match(gap)
                                 and not (nx and nx.search(before))), default=0.0)
                    if score:
                        out.append(Relation(h.best, t.best, h.text, t.text, h.start, h.end, t.start, t.end, pred.name,
                                            score, (sent,), f"pattern:{pred.name}"))
        return out

    def _distant_labels(self, by_sent: dict[int, list[_Mention]], sents, text: str) -> list[tuple[int, Relation]]:
        ids = sorted({c for ms in by_sent.values() for m in ms if not m.excluded for c in m.candidates})
        if len(ids) < 2:
            return []
        preds = sorted({p for p, _ in self._distant})
        marks = ",".join("?" * len(ids))
        rows = self.kg.query(
            f"SELECT subject, predicate, object, source FROM relations WHERE predicate IN ({','.join('?' * len(preds))}) "
            f"AND subject IN ({marks}) AND object IN ({marks})", [*preds, *ids, *ids]).fetchall()
        links: dict[tuple[str, str], tuple[str, str]] = {}
        for s, p, o, src in rows:
            if (p, src) in self._distant:
                links.setdefault((s, o), (p, src))
        if not links:
            return []
        out = []
        for k, ms in by_sent.items():
            a, b = sents[k]
            sent = (a, a + len(text[a:b].rstrip()))
            for h in ms:
                for t in ms:
                    if h is t or h.excluded or t.excluded or h.best == t.best:
                        continue
                    hit = next((links[(x, y)] for x in h.candidates for y in t.candidates if (x, y) in links), None)
                    if hit is None:
                        continue
                    rule = self._distant[hit]
                    if (rule.head_labels and h.label not in rule.head_labels) or (
                            rule.tail_labels and t.label not in rule.tail_labels):
                        continue
                    out.append((k, Relation(h.best, t.best, h.text, t.text, h.start, h.end, t.start, t.end,
                                            rule.predicate, rule.score, (sent,), f"distant:{hit[1]}")))
        return out

    def _from_events(self, events: Sequence[AdverseEvent]) -> list[Relation]:
        s = self.rules.adverse_events
        out: dict[tuple[str, str, int], Relation] = {}
        for ev in events:
            if ev.negated or (ev.speculated and not s.keep_speculated) or not ev.drug_ids or not ev.effect_ids:
                continue
            if ev.drug_ids[0] == ev.effect_ids[0]:
                continue
            score = {"rules": s.rules_score, "model": s.model_score}.get(ev.source, s.both_score)
            if ev.speculated:
                score *= s.speculated_factor
            method = "pattern:ade" if ev.source == "rules" else "model:ade"
            sent = (ev.evidence_start, ev.evidence_start + len(ev.evidence.rstrip()))
            r = Relation(ev.drug_ids[0], ev.effect_ids[0], ev.drug, ev.effect, ev.drug_start, ev.drug_end,
                         ev.effect_start, ev.effect_end, s.predicate, round(score, 4), (sent,), method)
            key = (r.head_id, r.tail_id, sent[0])
            if key not in out or r.score > out[key].score:
                out[key] = r
        return list(out.values())

    # -- writing ---------------------------------------------------------------------------------------
    def set_annotations(self, doc: Doc, relations: list[Relation]) -> None:
        """Append to ``doc._.relations`` (what an earlier component wrote there stays first)."""
        doc._.relations = tuple(doc._.relations or ()) + tuple(relations)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc


@Language.factory(
    "medlens_relation_patterns",
    assigns=["doc._.relations"],
    requires=["doc.ents", "span._.concepts"],
    default_config={"kg_path": None, "rules": None, "distant": True, "adverse_events": True},
)
def make_relation_patterns(nlp: Language, name: str, kg_path: str | None, rules: str | None, distant: bool,
                           adverse_events: bool) -> RelationPatterns:
    """Factory of :class:`RelationPatterns`.

    Args:
        kg_path: the knowledge graph for distant labels (None: the default graph).
        rules: a rules file (None: the shipped ``relation_patterns.json``).
        distant: read distant labels from the curated graph's relations.
        adverse_events: turn ``doc._.adverse_events`` (written by ``medlens_adverse_events`` when it runs
            before this component) into ``adverse_event`` relations.
    """
    kg = None
    if distant:
        from medlens.pipeline import shared_graph

        kg = shared_graph(kg_path)
    return RelationPatterns(name, kg=kg, rules=load_pattern_rules(rules), adverse_events=adverse_events)
