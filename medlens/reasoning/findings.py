"""Findings: what the patient has, and does not have, as coded concepts.

Findings come from an analyzed ``Doc`` (every DISEASE/SYMPTOM/FINDING entity,
present or absent by its ConText assertion; historical, family, uncertain and
hypothetical mentions are kept apart and not counted as current), or from
explicit inputs: a free-text symptom list (``"fever, productive cough, no
rash"``, run through the same pipeline), HPO ids, or a JSON list.

Lay language is rewritten to clinical terms first (:mod:`medlens.reasoning.lay`),
so "I keep throwing up" reaches Vomiting (HP:0002013). Each finding gets the
HPO terms the phenotype scorer uses: the HPO links of its entity, else the
lay lexicon's id, else an ``xref`` of a linked concept, else an HPO term with
the same name.

The lexicon and the pipeline are the precise first route. With a semantic
matcher (:mod:`medlens.reasoning.semantic`, on by default in
:class:`~medlens.reasoning.DiagnosisEngine`), the clauses of a text are also
matched to symptom concepts by meaning, and what the first route missed is
added with ``origin="semantic"`` ("I pee like every hour" → Polyuria).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.errors import Errors, InputError
from medlens.kg.store import KnowledgeGraph
from medlens.normalize import simple_norm
from medlens.reasoning.lay import LayRewriter, Rewritten, default_rewriter
from medlens.reasoning.models import Finding
from medlens.reasoning.patient import described_person, writer_between
from medlens.reasoning.semantic import SemanticMatcher

FINDING_LABELS = ("DISEASE", "SYMPTOM", "FINDING")
_HPO_ID = re.compile(r"^HP:\d{7}$")
_NEGATION = re.compile(r"^\s*(?:no|not|denies|denied|without|absent|negative for|-)\s+", re.IGNORECASE)


def _status(ent: Span, patient_text: bool = False) -> str:
    """The finding status of an entity from its ConText assertion.

    In a patient text, a family assertion whose person words are the patient the text describes
    ("my 4 year old son has a fever": :func:`~medlens.reasoning.patient.described_person`), or whose reach
    is ended by the writer speaking ("my mother had breast cancer, I have chest pain"), is dropped: the
    finding is the patient's current one. Family history ("his grandfather had a heart attack", a
    family-history section) stays family.
    """
    a = ent._.assertion
    if a is None:
        return "present"
    if patient_text and a.status == "family":
        text = ent.doc.text
        kept = [c for c in a.cues if c.category != "FAMILY" or not (
            described_person(text, c.start_char, c.end_char)
            or writer_between(text, c.end_char if c.end_char <= ent.start_char else c.start_char,
                              ent.start_char if c.end_char <= ent.start_char else ent.end_char))]
        if a.cues and not any(c.category in ("FAMILY", "SECTION") for c in kept):
            a = replace(a, family=False)
    return "absent" if a.status == "negated" else a.status


class FindingExtractor:
    """Turns text, Docs and explicit inputs into :class:`Finding` records.

    Args:
        nlp: a medlens pipeline (``medlens.load()``) over the same graph as ``kg``.
        kg: the knowledge graph (for HPO mappings of non-HPO concepts).
        rewriter: the lay-language rewriter; None uses the shipped lexicon.
        labels: entity labels that count as findings (default DISEASE, SYMPTOM, FINDING).
        semantic: match clauses of texts to symptom concepts by meaning too: a :class:`SemanticMatcher`,
            True for one over ``kg`` with the shipped encoder, or False/None (lexicon and pipeline only).
    """

    def __init__(self, nlp: Language, kg: KnowledgeGraph, rewriter: LayRewriter | None = None,
                 labels: Sequence[str] = FINDING_LABELS, semantic: SemanticMatcher | bool | None = None) -> None:
        self.nlp = nlp
        self.kg = kg
        if semantic is True:
            semantic = SemanticMatcher(kg, lexicon=(rewriter or default_rewriter()).lexicon)
        self.semantic: SemanticMatcher | None = semantic or None
        self.rewriter = rewriter or default_rewriter()
        self.labels = frozenset(labels)
        self._hpo_cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self._names: dict[str, str] = {}
        self.last: tuple[str, Doc, Rewritten] | None = None
        """The last text read by :meth:`from_text`, its analyzed Doc and lay rewriting (for the drugs of the text)."""

    # -- text ------------------------------------------------------------------------
    def from_text(self, text: str, phrases: Mapping[str, tuple[str, str]] | None = None,
                  semantic: bool = True, patient_text: bool = False) -> list[Finding]:
        """Findings of a free text (a note, a patient's own words).

        Args:
            text: the text.
            phrases: extra literal phrases to find (lower-cased text → ``(id, name)``), e.g. the
                symptom names of a disease-symptom table; they get the same ConText assertion, and
                the semantic matcher matches clauses to them by meaning too.
            semantic: also match by meaning, when the extractor has a semantic matcher.
            patient_text: the text is a short patient description, possibly by a parent or carer: a family
                assertion made by the word for the person described ("my son has a cough") is dropped.
        """
        if not isinstance(text, str):
            raise InputError(Errors.E1372.format(what="Input text", got=type(text).__name__))
        rw = self.rewriter.rewrite(text)
        doc = self.nlp(rw.text)
        self.last = (text, doc, rw)
        extra = self._add_phrases(doc, phrases) if phrases else {}
        found = self.from_doc(doc, rw, extra, patient_text)
        if semantic and self.semantic is not None:
            found = dedupe([*found, *self.semantic.match(text, found, phrases)])
        return found

    def from_symptoms(self, symptoms: str, phrases: Mapping[str, tuple[str, str]] | None = None,
                      semantic: bool = True) -> list[Finding]:
        """Findings of a comma- or semicolon-separated symptom list (``"fever, productive cough, no rash"``).

        Each item is read as its own sentence, so "no rash" negates only the rash.
        """
        if not isinstance(symptoms, str):
            raise InputError(Errors.E1372.format(what="Symptoms", got=type(symptoms).__name__))
        return self.from_text(re.sub(r"[,;]", ".", symptoms), phrases, semantic)

    def from_doc(self, doc: Doc, rewritten: Rewritten | None = None,
                 extra: Mapping[tuple[int, int], tuple[str, str]] | None = None,
                 patient_text: bool = False) -> list[Finding]:
        """Findings of an analyzed ``Doc`` (one per DISEASE/SYMPTOM/FINDING entity).

        Args:
            doc: a Doc from a medlens pipeline (entities with assertion and concepts).
            rewritten: the lay rewriting the Doc was made from, to report the patient's own words.
            extra: entities added for literal phrases, ``(start, end)`` token span → ``(id, name)``.
            patient_text: read the Doc as a patient description (see :meth:`from_text`).
        """
        out: list[Finding] = []
        for ent in doc.ents:
            key = (ent.start, ent.end)
            if extra and key in extra:
                pid, pname = extra[key]
                concepts, hpo, name, origin = [pid], [], pname, "phrase"
            else:
                if ent.label_ not in self.labels:
                    continue
                links = ent._.concepts or []
                rep = rewritten.replacement_at(ent.start_char, ent.end_char) if rewritten else None
                concepts = [c.concept_id for c in links]
                lay_id = rep.entry.id if rep is not None and rep.entry.id else None
                if lay_id and lay_id not in concepts:
                    concepts.insert(0, lay_id)
                hpo = self.hpo_terms(ent.text, concepts, lay_id)
                if not concepts and not hpo:
                    continue
                name = links[0].name if links else self.name_of(hpo[0] if hpo else concepts[0])
                if hpo:
                    name = self.name_of(hpo[0])
                origin = "lay" if rep is not None else "text"
            start, end = ent.start_char, ent.end_char
            text = ent.text
            if rewritten is not None:
                start, end = rewritten.to_original(start, end)
                text = rewritten.original[start:end]
            primary = hpo[0] if hpo else concepts[0]
            out.append(Finding(id=primary, name=name, status=_status(ent, patient_text), text=text, start=start, end=end,
                               origin=origin, concepts=concepts, hpo=hpo))
        return dedupe(out)

    def _add_phrases(self, doc: Doc, phrases: Mapping[str, tuple[str, str]]) -> dict[tuple[int, int], tuple[str, str]]:
        """Add entities for literal phrases not already covered, then redo their assertion."""
        low = doc.text.lower()
        taken = [(e.start_char, e.end_char) for e in doc.ents]
        new: list[Span] = []
        extra: dict[tuple[int, int], tuple[str, str]] = {}
        for phrase in sorted(phrases, key=len, reverse=True):
            for m in re.finditer(rf"(?<!\w){re.escape(phrase)}(?!\w)", low):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                span = doc.char_span(m.start(), m.end(), label="SYMPTOM", alignment_mode="expand")
                if span is None:
                    continue
                taken.append((span.start_char, span.end_char))
                new.append(span)
                extra[(span.start, span.end)] = phrases[phrase]
        if new:
            doc.ents = sorted([*doc.ents, *new], key=lambda s: s.start)
            if "medlens_context" in self.nlp.pipe_names:
                ctx = self.nlp.get_pipe("medlens_context")
                ctx.set_annotations(doc, ctx.predict(doc))
        return extra

    # -- explicit inputs ------------------------------------------------------------------
    def from_hpo(self, ids: Iterable[str], status: str = "present") -> list[Finding]:
        """Findings from HPO ids; a leading ``-`` or ``!`` marks an absent finding (``-HP:0000988``).

        Raises:
            InputError: an id is not an HPO id or is not in the graph.
        """
        out = []
        for raw in ids:
            raw = raw.strip()
            if not raw:
                continue
            st = status
            if raw[0] in "-!":
                st, raw = "absent", raw[1:].strip()
            if not _HPO_ID.match(raw):
                raise InputError(Errors.E1373.format(value=raw))
            c = self.kg.concept(raw)
            if c is None:
                raise InputError(Errors.E1374.format(value=raw, where=self.kg.path))
            out.append(Finding(id=raw, name=c.name, status=st, origin="hpo", concepts=[raw], hpo=[raw]))
        return dedupe(out)

    def from_json(self, data: str | Sequence[Any]) -> list[Finding]:
        """Findings from a JSON list (a string or already parsed).

        Items may be an HPO id (``"HP:0001945"``), text (``"fever"``, ``"no rash"``), or an object
        ``{"id": "HP:0001945"}`` / ``{"text": "rash", "present": false}`` / ``{"id": ..., "status": "absent"}``.

        Raises:
            InputError: the JSON is malformed or an item has an unknown form.
        """
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as exc:
                raise InputError(Errors.E1375.format(details=f"is not valid JSON: {exc}")) from exc
        if not isinstance(data, list):
            raise InputError(Errors.E1375.format(details=f"must be a list, got {type(data).__name__}"))
        out: list[Finding] = []
        for i, item in enumerate(data):
            if isinstance(item, str):
                item = {"id": item} if _HPO_ID.match(item.lstrip("-! ")) else {"text": item}
            if not isinstance(item, dict):
                raise InputError(Errors.E1375.format(details=f"item {i} must be a string or an object, got {type(item).__name__}"))
            unknown = set(item) - {"id", "text", "present", "status"}
            if unknown:
                raise InputError(Errors.E1375.format(details=f"item {i} has unknown key(s) {', '.join(sorted(unknown))}; "
                                                         "accepted: id, text, present, status"))
            status = item.get("status") or ("absent" if item.get("present") is False else "present")
            if status not in ("present", "absent"):
                raise InputError(Errors.E1375.format(details=f"item {i}: status '{status}' is not one of present, absent"))
            if "id" in item:
                cid = str(item["id"])
                if _HPO_ID.match(cid.lstrip("-! ")):
                    found = self.from_hpo([cid], status)
                else:
                    c = self.kg.concept(cid)
                    if c is None:
                        raise InputError(Errors.E1375.format(details=f"item {i}: concept '{cid}' is not in the knowledge graph "
                                                                 f"({self.kg.path})"))
                    found = [Finding(id=cid, name=c.name, status=status, origin="json", concepts=[cid],
                                     hpo=self.hpo_terms(c.name, [cid], None))]
            elif "text" in item:
                text = str(item["text"])
                found = self.from_symptoms(text)
                if status == "absent":
                    found = [f.model_copy(update={"status": "absent"}) for f in found]
            else:
                raise InputError(Errors.E1375.format(details=f"item {i} needs an 'id' or a 'text'"))
            out.extend(f.model_copy(update={"origin": "json"}) for f in found)
        return dedupe(out)

    # -- HPO mapping ----------------------------------------------------------------------
    def hpo_terms(self, text: str, concepts: Sequence[str], lay_id: str | None = None) -> list[str]:
        """HPO terms of a mention: its HPO links, the lay lexicon's id, xrefs, or same-name HPO terms."""
        key = (simple_norm(text), tuple(concepts))
        if key in self._hpo_cache:
            return self._hpo_cache[key]
        hpo = [c for c in concepts if c.startswith("HP:")]
        if lay_id and lay_id.startswith("HP:") and lay_id not in hpo:
            hpo.insert(0, lay_id)
        if not hpo:
            for cid in concepts[:3]:
                for rel in self.kg.relations(cid, predicate="xref"):
                    if rel.object.startswith("HP:"):
                        hpo.append(rel.object)
        if not hpo:
            names = [text] + [c.name for c in self.kg.concepts(concepts[:3]).values()]
            for name in names:
                hpo.extend(c.id for c in self.kg.lookup(name) if c.id.startswith("HP:") and c.id not in hpo)
                if hpo:
                    break
        hpo = list(dict.fromkeys(hpo))[:3]
        if len(self._hpo_cache) > 50_000:
            self._hpo_cache.clear()
        self._hpo_cache[key] = hpo
        return hpo

    def name_of(self, concept_id: str) -> str:
        if concept_id not in self._names:
            c = self.kg.concept(concept_id)
            self._names[concept_id] = c.name if c else concept_id
        return self._names[concept_id]


def dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per concept: the first mention wins, and present wins over absent."""
    best: dict[str, Finding] = {}
    for f in findings:
        old = best.get(f.id)
        if old is None or (old.status != "present" and f.status == "present") or (not old.counted and f.counted):
            best[f.id] = f
    return list(best.values())


def split_negation(item: str) -> tuple[str, bool]:
    """``"no rash"`` → ``("rash", False)``; ``"fever"`` → ``("fever", True)``."""
    m = _NEGATION.match(item)
    return (item[m.end():], False) if m else (item, True)
