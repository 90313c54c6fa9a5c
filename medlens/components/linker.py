"""Concept linking: each entity gets ranked concept candidates with scores.

Candidates are tried in order of trust, and each concept keeps its best route:

1. ``exact``: a synonym equal to the mention (ignoring case and spacing), 1.0
2. ``normalized``: same key after case, accents, punctuation and plural
   folding (0.95), or the same words in another order (0.9)
3. ``abbreviation``: a clinical abbreviation's expansion (0.9; 0.75 when the
   abbreviation is ambiguous)
4. ``fuzzy``: character trigram candidates from the graph's full-text index,
   scored by edit-distance ratio, kept above ``fuzzy_threshold`` (score x 0.85)
   when the candidate is the mention with typos, word for word (not "Fetal
   pleural effusion" for "left pleural effusion")
5. ``partial``: when nothing else matched, the part before "of" ("atrophy of
   the left calf" -> atrophy), else the longest trailing part of the mention that
   names a concept of a compatible label ("primary lung cancer" -> "lung cancer", 0.7);
   last, ``fuzzy`` again: a name that is the mention with one more word inside
   ("ST depressions" -> "ST segment depression", 0.8)

Within one route, concepts are ordered by the source preferred for the
entity's label (``source_priority``; e.g. ICD-10-CM before MeSH for diseases),
then by whether the mention is the concept's preferred name.

``prefer`` (``medlens analyze --prefer mesh``) asks for the ids of some
vocabularies first, whatever the label: candidates from those sources come
before all others, and when the best candidates are from other sources, their
equivalents in the preferred ones (:meth:`KnowledgeGraph.map_to`, without
climbing to broader concepts) are added with the same score, route ``xref``.

The linker holds no synonym table in memory: it reads the graph file through
SQLite indexes.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz
from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.doc import extensions
from medlens.doc.types import ConceptLink
from medlens.kg.index import FLAG_AMBIGUOUS, Entry, MatchIndex
from medlens.errors import KnowledgeGraphError
from medlens.kg.store import Concept, KnowledgeGraph, in_vocabulary, vocabulary_name
from medlens.normalize import bag_key, key_of_tokens, simple_norm

DEFAULT_SOURCE_PRIORITY: dict[str, list[str]] = {
    "DISEASE": ["icd10cm", "mesh", "hpo", "orphanet", "omim"],
    "SYMPTOM": ["hpo", "icd10cm", "medlens", "mesh"],
    "FINDING": ["hpo", "icd10cm", "medlens", "mesh"],
    "DRUG": ["drugs", "mesh"],
    "TEST": ["medlens"],
    "PROCEDURE": ["medlens"],
    "ANATOMY": ["medlens"],
}
LINK_RELABELS: dict[str, frozenset[str]] = {
    "DISEASE": frozenset({"FINDING", "ANATOMY"}),
    "CHEMICAL": frozenset({"ANATOMY"}),
}
"""Model label -> the concept labels a confident first link may give a model entity instead
(:meth:`EntityLinker.set_annotations`). Not SYMPTOM: a concept's own label does not separate a
symptom from a disease as the graph's keys do (MeSH files "obesity" under signs and symptoms; on the
MTSamples dev notes "obese" and "tremor" of "essential tremor" became symptoms); drugs, tests and
procedures are not taken from a link ("potassium" is a drug and a test)."""
#: prefixes of a place before an organ's name ("hypopharynx", "nasopharynx", "supraglottis")
_ORGAN_PREFIXES = frozenset({"hypo", "naso", "oro", "supra", "sub", "epi", "peri", "para", "retro", "infra", "intra"})
#: last words and endings of a disease's name: an unlinked model DISEASE of an exam so named stays a disease
_DISEASE_HEADS = frozenset({"disease", "diseases", "disorder", "disorders", "syndrome", "deficiency", "problem",
                            "problems", "infection", "infections", "cancer", "tumor", "tumors", "carcinoma"})
_DISEASE_ENDINGS = ("'s", "itis", "oma", "omas", "omata", "osis", "opathy")


def _named_like_a_disease(text: str) -> bool:
    """Does ``text`` end like a disease's name ("thought disorder", "factor V Leiden deficiency",
    "Peyronie's", "condylomata") rather than an exam finding ("normocephalic", "neck supple")?"""
    words = text.lower().split()
    return bool(words) and (words[-1] in _DISEASE_HEADS or words[-1].endswith(_DISEASE_ENDINGS))


def _head_word(tokens: list[str]) -> str:
    """The head word of a mention: its last word before an inner "of" ("instability of the knee" -> "instability"),
    else its last word ("breast lump" -> "lump")."""
    words = [t.lower() for t in tokens]
    return tokens[words.index("of", 1) - 1] if "of" in words[1:-1] else tokens[-1]


#: words that after a complaint's or a sign's head word name its place ("pain in the back", "swelling around the
#: eye", "pain behind the knee"): the head is the word before them
_PLACE_PREPOSITIONS = frozenset({"of", "in", "on", "at", "around", "behind", "over", "under", "along", "across",
                                 "near", "about", "between", "inside", "within", "above", "below"})


def _head_before_place(tokens: list[str]) -> str:
    """The head word of a complaint or a sign: its last word before the first inner preposition of place
    ("pain in his back and hips" -> "pain", "choking in the neck" -> "choking"), else :func:`_head_word`."""
    words = [t.lower() for t in tokens]
    for i in range(1, len(words) - 1):
        if words[i] in _PLACE_PREPOSITIONS:
            return tokens[i - 1]
    return _head_word(tokens)


def _before_of(text: str) -> str:
    """The words of ``text`` before its first inner "of" ("disk disease of the right hip" -> "disk disease")."""
    words = text.split()
    low = [w.lower() for w in words]
    return " ".join(words[: low.index("of", 1)]) if "of" in low[1:-1] else text


#: test heads that after a disease name a place or a number of lesions ("the polyp levels", "polyp count")
_PLACE_HEADS = frozenset({"level", "levels", "count", "counts"})
#: sections where the model's unlinked DISEASE entities are what the examiner found ("normocephalic")
EXAM_SECTIONS = frozenset({"physical_exam", "objective", "review_of_systems", "mental_status_exam", "vital_signs"})
#: sections where an unlinked model DISEASE is what was found: exams, and an operation's or a study's findings
_FINDING_SECTIONS = EXAM_SECTIONS | {"findings", "procedures", "intraoperative"}
#: sections that list what the patient has: a name there that reads like a disease's is a DISEASE, not a FINDING
DIAGNOSIS_SECTIONS = frozenset({"impression", "diagnoses", "admission_diagnoses", "discharge_diagnoses", "assessment",
                                "assessment_and_plan", "problem_list"})
#: endings of adjectives ("pelvic", "renal", "obstructive", "nodular")
_ADJECTIVE_ENDINGS = ("al", "ic", "ar", "ary", "ous", "ive")
_SPAN_ATTRS = ("assertion", "match_ids", "matched_form", "concepts", "ner_source", "attributes", "ner_score")


def relabel(doc: Doc, ent, label: str, end: int | None = None, without: tuple[str, ...] = ()):
    """``ent`` with another label and the same medlens attributes (spaCy keys a span's
    attributes by its label too, so a plain new span would lose them); ``end``: a longer span from
    ``ent``'s start; ``without``: attributes not carried over."""
    span = Span(doc, ent.start, ent.end if end is None else end, label=label)
    for name in _SPAN_ATTRS:
        if name not in without and Span.has_extension(name):
            setattr(span._, name, getattr(ent._, name))
    return span


_WORD = re.compile(r"[^\W_]+")
_NOT_MATCHED_ALONE = frozenset({"inclusion", "broad"})
_COMPATIBLE = {
    "DISEASE": {"DISEASE", "FINDING", "SYMPTOM"},
    "SYMPTOM": {"SYMPTOM", "FINDING", "DISEASE"},
    "FINDING": {"FINDING", "SYMPTOM", "DISEASE"},
    "DRUG": {"DRUG"},
    "CHEMICAL": {"DRUG"},
    "TEST": {"TEST"},
    "PROCEDURE": {"PROCEDURE"},
    "ANATOMY": {"ANATOMY"},
}


@Language.factory(
    "medlens_linker",
    assigns=["span._.concepts"],
    requires=["doc.ents"],
    default_config={"kg_path": None, "top_k": 5, "fuzzy": True, "fuzzy_threshold": 0.85, "source_priority": None,
                    "prefer": None, "label_from_link": True, "keep_kind": True},
)
def make_linker(nlp: Language, name: str, kg_path: str | None, top_k: int, fuzzy: bool, fuzzy_threshold: float,
                source_priority: dict[str, list[str]] | None, prefer: list[str] | None = None,
                label_from_link: bool = True, keep_kind: bool = True) -> EntityLinker:
    extensions.register()
    from medlens.pipeline import shared_graph

    return EntityLinker(nlp, name=name, kg=shared_graph(kg_path), top_k=top_k, fuzzy=fuzzy,
                        fuzzy_threshold=fuzzy_threshold, source_priority=source_priority, prefer=prefer,
                        label_from_link=label_from_link, keep_kind=keep_kind)


class EntityLinker:
    """Links entities (or any mention text) to knowledge-graph concepts.

    Args:
        nlp: the pipeline (its tokenizer normalizes mention text); may be None
            when only :meth:`link_text` is used with token lists.
        name: component name.
        kg: the knowledge graph (passed in; the linker never opens files itself).
        top_k: how many ranked links each entity keeps (default 5).
        fuzzy: whether to fall back to fuzzy matching when nothing matches exactly
            or by normalization (default True).
        fuzzy_threshold: minimum edit-distance ratio (0..1) of a fuzzy candidate (default 0.85).
        source_priority: per label, the order of preferred sources; None uses
            :data:`DEFAULT_SOURCE_PRIORITY` (labels it does not name keep their default order).
        prefer: sources whose ids come first for every label, in this order (``["mesh"]``;
            ``drugbank`` means ``drugs``); None or empty: rank by ``source_priority`` only.
        label_from_link: a model entity takes the label of its first link's concept when the link
            is confident and the kinds disagree (:data:`LINK_RELABELS`; default True).
        keep_kind: the partial routes of a document's entities leave out only qualifiers
            (``link_qualifiers``), never the organ or the kind: no link rather than a broader concept
            (default True; ``link_text`` never drops the kind's words either way).
    """

    def __init__(self, nlp: Language | None, name: str = "medlens_linker", *, kg: KnowledgeGraph, top_k: int = 5,
                 fuzzy: bool = True, fuzzy_threshold: float = 0.85,
                 source_priority: dict[str, list[str]] | None = None, prefer: list[str] | None = None,
                 label_from_link: bool = True, keep_kind: bool = True) -> None:
        extensions.register()
        self.keep_kind = keep_kind
        self.name = name
        self.nlp = nlp
        self.kg = kg
        self.index = MatchIndex.from_graph(kg)
        self.top_k = top_k
        self.fuzzy = fuzzy
        self.fuzzy_threshold = fuzzy_threshold
        self.source_priority = {**DEFAULT_SOURCE_PRIORITY, **(source_priority or {})}
        self.prefer = [vocabulary_name(p) for p in prefer or ()]
        self.label_from_link = label_from_link
        from medlens.components.transformer_ner import SPINAL_LEVEL, after_entity_words, neighbour_words

        self.neighbours = neighbour_words()
        self.after_words = after_entity_words()
        self._spinal_level = SPINAL_LEVEL
        self._concepts: dict[str, Concept] = {}
        self._fuzzy_cache: dict[tuple[str, tuple[str, ...] | None], list] = {}
        self._inserted_cache: dict[tuple[str, str | None], list[tuple[str, str]]] = {}

    @classmethod
    def from_kg(cls, kg: KnowledgeGraph, nlp: Language | None = None, **kwargs) -> EntityLinker:
        """A linker over ``kg`` (scispaCy's ``from_kb`` convention)."""
        return cls(nlp, kg=kg, **kwargs)

    # -- public API ----------------------------------------------------------------
    def link_text(self, text: str, label: str | None = None) -> list[ConceptLink]:
        """Ranked links for a mention given as plain text (e.g. a symptom typed by a user)."""
        tokens = [t.text for t in self.nlp.make_doc(text)] if self.nlp is not None else text.split()
        return self._link(text, tokens, label, ())

    def predict(self, doc: Doc) -> list[list[ConceptLink]]:
        """Ranked links for each entity of ``doc`` (pure)."""
        return [self._link(ent.text, [t.text for t in ent], ent.label_, ent._.match_ids or (), ent._.matched_form,
                           keep_kind=self.keep_kind)
                for ent in doc.ents]

    def set_annotations(self, doc: Doc, links: list[list[ConceptLink]]) -> None:
        """Write the links; a model entity whose first link is a confident match (``exact`` or
        ``normalized``) of a concept of another kind takes that concept's label (``label_from_link``,
        :data:`LINK_RELABELS`): the model, trained on disease and chemical names, calls "hypopneas" a
        DISEASE that the graph knows as a finding, and "adnexa" a chemical that the graph knows as anatomy.
        With ``label_from_link`` the model's DISEASE and CHEMICAL entities are also read against the
        graph and the note (:meth:`_label_of_model_entity`): a name of several words whose confident
        link is a procedure is a PROCEDURE ("steroid injection"); "<finding> of <place>" whose finding
        the graph knows as a finding or symptom takes that label ("atrophy of the left calf"); a word
        whose "-itis" is a disease the graph knows names the organ ("epiglottis", "hypopharynx":
        ANATOMY, not linked to epiglottitis); a DISEASE that links to nothing in an exam or a review
        of systems is a FINDING ("normocephalic", "gross orthotropia")."""
        ents = list(doc.ents)
        changed = False
        if self.label_from_link:
            ents, links, changed = self._read_neighbour_words(doc, ents, list(links))
        for i, (ent, ent_links) in enumerate(zip(ents, links)):
            label = None
            if self.label_from_link:
                label = self._label_from_link(ent, ent_links)
                if label is None:
                    label, ent_links = self._label_of_model_entity(ent, ent_links)
            ent._.concepts = ent_links
            if (self.label_from_link and (label or ent.label_) == "FINDING" and ent._.section in DIAGNOSIS_SECTIONS
                    and _named_like_a_disease(_before_of(ent.text))):
                label = "DISEASE"  # "lumbar spinal stenosis", "degenerative disk disease of the hip" in an impression
            if label is not None and label != ent.label_:
                ents[i] = relabel(doc, ent, label)
                changed = True
        if changed:
            doc.ents = ents

    def _read_neighbour_words(self, doc: Doc, ents: list, links: list[list[ConceptLink]]):
        """Entities and links after reading the words around each entity (``neighbour_words``):
        part of a person's or an institution's name ("Dr. X", "The ABCD Hospital") or an organ naming a
        device ("chest drain") is no entity; a substance or disease before a test's head word is that
        test ("methotrexate level", "apnea/hypopnea index", "cardiac enzyme profile"); a disease whose
        last word names a sign ("swan neck deformities") is a FINDING. Returns (ents, links, changed)."""
        words = self.neighbours
        n = len(doc)
        out_ents: list = []
        out_links: list[list[ConceptLink]] = []
        changed = False
        skip_to = -1
        # a note's conventions (a lab value is a TEST, "lithium toxicity" one disease) only where the text is a
        # note with sections: an abstract's "creatinine levels" keeps its chemical (BC5CDR's convention)
        noted = any(s.category != "unknown" for s in doc._.sections or ())
        for k, (ent, ent_links) in enumerate(zip(ents, links)):
            if ent.start < skip_to:
                changed = True
                continue  # taken by the test name before it
            following = ents[k + 1] if k + 1 < len(ents) else None
            prev = doc[ent.start - 1].text.lower() if ent.start > 0 else ""
            nxt = doc[ent.end] if ent.end < n else None
            nxt2 = doc[ent.end + 1] if ent.end + 1 < n else None
            capital = ent.text[:1].isupper()
            if capital and (prev in words["name_titles"] or prev.rstrip(".") in words["name_titles"]):
                changed = True
                continue
            if capital and nxt is not None and (
                    (nxt.text.lower() in words["institution_words"] and nxt.text[:1].isupper())
                    or (nxt.text.istitle() and nxt2 is not None and nxt2.text.lower() in words["institution_words"]
                        and nxt2.text[:1].isupper())):
                changed = True
                continue
            if self._in_caps_header(doc, ent):
                changed = True
                continue
            if ent.label_ in ("ANATOMY", "PROCEDURE") and nxt is not None and nxt.text.lower() in words["device_words"]:
                changed = True
                continue
            end, label = (self._test_name_end(ent, nxt, nxt2) if noted else None), "TEST"
            if end is None:
                end, label = self._joined_name_end(ent, nxt, following, noted)
            if end is not None:
                span = relabel(doc, ent, label, end=end, without=("concepts",))
                out_ents.append(span)
                new_links = self._link(span.text, [t.text for t in span], label, ())
                if not new_links and following is not None and end == following.end:
                    new_links = links[k + 1]  # "Obstructive" + "sleep apnea syndrome": the second's links
                out_links.append(new_links)
                skip_to = end
                changed = True
                continue
            sign = self._sign_label(ent) if ent.label_ == "DISEASE" else None
            if sign is not None:
                out_ents.append(relabel(doc, ent, sign))
                out_links.append(self._link(ent.text, [t.text for t in ent], sign, (), keep_kind=True) or ent_links)
                changed = True
                continue
            out_ents.append(ent)
            out_links.append(ent_links)
        return out_ents, out_links, changed

    @staticmethod
    def _in_caps_header(doc: Doc, ent) -> bool:
        """Is ``ent`` part of a header in capitals that the sections component did not recognize ("BREAST
        CANCER HISTORY:", "PAIN MANAGEMENT:", "EARS, NOSE AND THROAT:")? A run of words in capitals that starts a
        line or a sentence (after punctuation, a line break or the text's start) and ends with a colon, and
        holds a word besides ``ent`` ("HYPERTENSION:" of a problem list stays an entity)."""
        if not any(c.isalpha() for c in ent.text) or not ent.text.isupper() or not ent.text[-1].isalpha():
            return False

        def caps(tok) -> bool:  # a word in capitals, or punctuation inside a header (not a flattened line break)
            if tok.text == ",":
                return bool(tok.whitespace_)  # ".,PHYSICAL": a line break flattened to a comma ends the run
            return tok.is_alpha and tok.text.isupper() or tok.text in {"&", "/", "-", "(", ")", "[", "]"}

        i = ent.end
        while i < len(doc) and i - ent.end <= 8 and caps(doc[i]) and "\n" not in doc[i - 1].whitespace_:
            i += 1
        if i >= len(doc) or doc[i].text != ":" or "\n" in doc[i - 1].whitespace_:
            return False
        words = sum(1 for t in doc[ent.end:i] if t.is_alpha)
        j = ent.start
        while j > 0 and ent.start - j <= 8 and doc[j - 1].is_alpha and doc[j - 1].text.isupper() \
                and "\n" not in doc[j - 1].whitespace_:
            j -= 1
        words += ent.start - j
        before = doc[j - 1] if j > 0 else None
        starts = before is None or "\n" in before.whitespace_ or before.is_punct or before.is_space
        return starts and words > 0

    def _sign_label(self, ent) -> str | None:
        """FINDING or SYMPTOM for a DISEASE whose head word (its last word, or the last before "of") names
        a sign or a complaint (``finding_heads``: "cafe au lait spots", "breast lump", "instability of the
        knee"; ``symptom_heads``: "left leg weakness", "nipple discharge"; the head of "pain in the back" is
        "pain": :func:`_head_before_place`), else None. Not in a diagnosis
        list for a name that reads like a disease's."""
        head = _head_before_place([t.text for t in ent]).lower()
        if head in self.neighbours["finding_heads"]:
            return "FINDING"
        if head in self.neighbours["symptom_heads"]:
            return "SYMPTOM"
        return None

    def _joined_name_end(self, ent, nxt, following, noted: bool = True) -> tuple[int | None, str]:
        """(end, label) of one entity that ``ent`` makes with what follows it, or (None, ""): a word of
        ``after_entity_words`` for its label ("thyroid problem", "oxygen desaturation"); or, for a model
        span that is only adjectives ("Obstructive", "hypermetabolic"), the entity right after it
        ("Obstructive" + "sleep apnea syndrome")."""
        if nxt is None:
            return None, ""
        new = self.after_words.get(ent.label_, {}).get(nxt.text.lower())
        if new is not None and not nxt.ent_type_ and (noted or ent.label_ == "ANATOMY"):
            return ent.end + 1, new
        if (noted and following is not None and following.start == ent.end and ent._.ner_source == "model"
                and ent.label_ in ("DISEASE", "CHEMICAL") and not ent._.match_ids
                and all(t.is_alpha and t.text.lower().endswith(_ADJECTIVE_ENDINGS) for t in ent)):
            return following.end, following.label_
        return None, ""

    def _test_name_end(self, ent, nxt, nxt2) -> int | None:
        """End token of a test's name that ``ent`` begins ("methotrexate level", "Pain Analog Scale",
        "cardiac enzyme profile"), or None."""
        heads = self.neighbours["test_heads"]
        if nxt is None or ent.label_ in ("TEST", "PROCEDURE"):
            return None
        if nxt.text.lower() in heads:
            head, end, between = nxt, ent.end + 1, False
        elif nxt.is_alpha and nxt2 is not None and nxt2.text.lower() in heads and not nxt.ent_type_:
            head, end, between = nxt2, ent.end + 2, True
        else:
            return None
        if ent.label_ in ("DRUG", "CHEMICAL") or (ent.label_ == "DISEASE" and head.text.lower() not in _PLACE_HEADS):
            return end  # not "the polyp levels" (a place), but "hepatitis panel", "apnea/hypopnea index"
        if head.text[:1].isupper() and (not between or nxt.text[:1].isupper()):
            return end  # a named scale or score: "Pain Analog Scale", "Glasgow Coma Scale"
        if ent.label_ == "ANATOMY" and between:
            return end  # "cardiac enzyme profile", "liver function panel"; not "the L4 level"
        return None

    def _label_from_link(self, ent, links: list[ConceptLink]) -> str | None:
        if not links or ent._.ner_source != "model" or ent._.match_ids:
            return None
        top = links[0]
        plural = top.method == "fuzzy" and simple_norm(ent.text) == simple_norm(top.matched) + "s"
        if (top.method not in ("exact", "normalized") or top.score < 0.95) and not plural:
            return None  # (a plural the keys do not fold, "hypopneas" of "hypopnea", is as sure as exact)
        targets = LINK_RELABELS.get(ent.label_)
        concept = self._concept_map([top.concept_id]).get(top.concept_id)
        if not targets or concept is None:
            return None
        if concept.label == "PROCEDURE" and len(ent) > 1:
            return "PROCEDURE"  # "steroid injection": a name of several words, not a bare "potassium"
        if concept.label not in targets:
            return None
        return concept.label

    def _label_of_model_entity(self, ent, links: list[ConceptLink]) -> tuple[str | None, list[ConceptLink]]:
        """A new label (or None) and the links for a model DISEASE or CHEMICAL the graph and the
        note read otherwise; see :meth:`set_annotations`."""
        if ent._.ner_source != "model" or ent._.match_ids or ent.label_ not in ("DISEASE", "CHEMICAL"):
            return None, links
        tokens = [t.text for t in ent]
        top = links[0] if links else None
        if (len(tokens) == 1 and (top is None or top.method == "fuzzy")
                and self._names_organ_of_inflammation(ent.text)):
            return "ANATOMY", []
        if ent.label_ != "DISEASE":
            return None, links
        head = self._finding_before_of(tokens)
        if head is not None:
            return head, self._link(ent.text, tokens, head, (), keep_kind=True)
        if (top is None and len(tokens) == 1 and ent.text.isalpha() and len(ent.text) > 5
                and ent.text.lower().endswith("ing")):
            return "SYMPTOM", links  # "aching", "tingling", "throbbing": a sensation the graph does not name
        if (top is None or top.method == "fuzzy") and tokens[-1].lower() in self.neighbours["anatomy_heads"]:
            return "ANATOMY", []  # "uterosacral ligament", "rectus fascia"; not fuzzy-linked to a sprain of it
        if (top is None and ent._.section in _FINDING_SECTIONS and not _named_like_a_disease(ent.text)
                and not self._head_names_a_disease(tokens)):
            return "FINDING", links
        return None, links

    def _head_names_a_disease(self, tokens: list[str]) -> bool:
        """Is the last word of ``tokens`` (before "of") a key the graph labels DISEASE ("perioperative anemia",
        "penoscrotal abscess": unlinked because the link would drop the kind, still diseases)?"""
        key = key_of_tokens([_head_word(tokens)])
        return bool(key) and any(e.label == "DISEASE" and not e.is_abbreviation for e in self.index.by_key(key))

    def _finding_before_of(self, tokens: list[str]) -> str | None:
        """``FINDING`` or ``SYMPTOM`` when the words before "of" are a key the graph labels so
        ("deformity of the ears and nose"; not "carcinoma of the lung")."""
        words = [t.lower() for t in tokens]
        if "of" not in words[1:-1]:
            return None
        key = key_of_tokens(tokens[: words.index("of", 1)])
        labels = {e.label for e in (self.index.by_key(key) if key else ()) if not e.is_abbreviation}
        if labels and labels <= {"FINDING", "SYMPTOM"}:
            return "FINDING" if "FINDING" in labels else "SYMPTOM"
        return None

    def _names_organ_of_inflammation(self, word: str) -> bool:
        """Is ``word`` (or its last part, "hypopharynx" -> "pharynx") an organ whose inflammation
        the graph knows as a disease ("epiglottis" -> "epiglottitis", "larynx" -> "laryngitis",
        "cervix" -> "cervicitis", "colon" -> "colitis", "fascia" -> "fasciitis")? The model, trained on disease names, calls
        such organs diseases, and fuzzy matching links them to the "-itis"."""
        w = word.lower()
        if not w.isalpha() or len(w) < 5 or w.endswith(("itis", "osis", "iasis", "esis")):
            return False  # "fibrosis" is no organ of "fibrositis", "adenomyosis" none of "myositis"
        for i in range(0, len(w) - 4):
            if i and w[:i] not in _ORGAN_PREFIXES:
                continue  # "hypo|pharynx", "naso|pharynx"; not "eu|thyroid" (euthyroid is a state)
            part = w[i:]
            forms = {part + "itis"}
            if part.endswith("is"):
                forms.add(part[:-2] + "itis")
            if part.endswith("nx"):
                forms.add(part[:-1] + "gitis")
            if part.endswith("ix"):
                forms.add(part[:-1] + "citis")
            if part.endswith(("on", "um", "us")):
                forms.add(part[:-2] + "itis")
            if part.endswith(("a", "e")):  # "fascia" -> "fasciitis", "prostate" -> "prostatitis"
                forms.add(part[:-1] + "itis")
            if part.endswith("as"):  # "pancreas" -> "pancreatitis"
                forms.add(part[:-2] + "atitis")
            for form in forms:
                key = key_of_tokens([form])
                if key and any(e.label == "DISEASE" for e in self.index.by_key(key)):
                    return True
        return False

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc

    # -- internals -----------------------------------------------------------------
    def _link(self, text: str, tokens: list[str], label: str | None, match_ids: tuple[str, ...],
              form: str | None = None, keep_kind: bool = False) -> list[ConceptLink]:
        """Ranked links of one mention. ``keep_kind`` (entities of a document): the partial routes may
        leave out only qualifiers (``link_qualifiers``: side, amount, time, certainty), never the words
        that say which organ or what kind ("radicular pain" is not linked to *Pain*, "adenocarcinoma of
        the prostate" not to *Adenocarcinoma*): no link is better than a broader concept. Without it
        (:meth:`link_text`, the mention normalizer) the head of the mention is offered as before."""
        best: dict[str, tuple[float, str, str]] = {}  # concept -> (score, method, matched)
        norm = simple_norm(text)

        def offer(cid: str, score: float, method: str, matched: str) -> None:
            if score > best.get(cid, (-1.0,))[0]:
                best[cid] = (score, method, matched)

        if match_ids:
            for entry_like in self._routes_for_ids(match_ids, text, form):
                offer(*entry_like)
        else:
            key = key_of_tokens(tokens)
            for entry in self.index.by_key(key) if key else ():
                self._offer_entry(entry, offer, norm, 0.95)
            if not best and key:
                for entry in self.index.by_bag(bag_key(key)):
                    self._offer_entry(entry, offer, norm, 0.9)
            if not best and self.fuzzy and len(norm) >= 4:
                for hit in self._fuzzy_hits(norm, text, label):
                    if not self._typo_like(norm, hit):
                        continue
                    offer(hit.concept.id, round(hit.score * 0.85, 4), "fuzzy", hit.matched)
                    self._concepts.setdefault(hit.concept.id, hit.concept)
            if not best and len(tokens) > 2:
                self._offer_before_of(tokens, label, offer, keep_kind)
            if not best and len(tokens) > 1:
                self._offer_head(tokens, offer, label, keep_kind)
            if not best and len(tokens) > 1:
                # after the head: a word more is a bigger leap than a qualifier less
                # ("acute injury" is an injury, not "acute kidney injury")
                self._offer_inserted_word(key, label, offer)
        if not best:
            return []
        if self.prefer:
            self._offer_preferred(best, offer)
        return self._rank(best, label, norm)

    _FUZZY_CACHE_SIZE = 50_000

    def _fuzzy_hits(self, norm: str, text: str, label: str | None) -> list:
        """``kg.search`` for a mention, cached by its normalized text and label group.

        A search costs a few milliseconds, the most (about 5 ms) for a mention
        with no concept, which uses up the search's budget; mentions repeat
        across documents (the same drug, the same misspelling), so a bounded
        cache saves much of it.
        """
        labels = _COMPATIBLE.get(label or "", None)
        key = (norm, tuple(sorted(labels)) if labels else None)
        hits = self._fuzzy_cache.get(key)
        if hits is None:
            if len(self._fuzzy_cache) >= self._FUZZY_CACHE_SIZE:
                self._fuzzy_cache.clear()
            hits = self.kg.search(text, limit=self.top_k, labels=labels, min_score=self.fuzzy_threshold)
            self._fuzzy_cache[key] = hits
        return hits

    def _typo_like(self, norm: str, hit) -> bool:
        """Is a fuzzy hit the mention with typos (or inflections), not another name?

        Character ratios reward a near-anagram word: "left pleural effusion" scores
        0.88 against "Fetal pleural effusion", "ST depressions" against "PTa
        depression", "redness" against "Tiredness". So every word of the mention
        must pair with its own word of the synonym: the same word, or one of at
        least 4 letters that starts with the same letter and has an edit ratio
        of 0.8 or more or the same letters ("pneumonai"/"pneumonia", "pian"/"pain",
        "depressions"/"depression"); the
        synonym may hold one extra word. Names the dictionary does not match are
        not offered either: one-word ICD-10-CM inclusion terms and broad synonyms
        ("diabetes" is an inclusion term of *Type 2* diabetes) and names cut short
        at a comma.
        """
        if hit.matched.rstrip().endswith(","):  # a name cut short ("alcohol," of benzyl alcohol), not indexed either
            return False
        mention = _WORD.findall(norm)
        cand = _WORD.findall(simple_norm(hit.matched))
        if not mention or not cand or len(cand) > len(mention) + 1:
            return False
        free = list(cand)
        for w in mention:
            for j, c in enumerate(free):
                if w == c or (len(w) >= 4 and len(c) >= 4 and w[0] == c[0]
                              and (fuzz.ratio(w, c) >= 80 or sorted(w) == sorted(c))):
                    del free[j]
                    break
            else:
                return False
        if len(cand) == 1:
            kinds = {k for (k,) in self.kg.query("SELECT kind FROM synonyms WHERE concept_id=? AND text=?",
                                                   (hit.concept.id, hit.matched))}
            if kinds and kinds <= _NOT_MATCHED_ALONE:
                return False
        return True

    def _offer_inserted_word(self, key: str, label: str | None, offer) -> None:
        """``fuzzy``: names that are the mention with one more word inside, compared by
        key (so inflections fold): "ST depressions" -> "ST segment depression", 0.8.
        Notes leave out the middle word of a name ("ST depression", "lymph enlargement"),
        which character ratios score too low. Mentions of 2 to 4 words, one of them at
        least 4 letters long (the trigram index needs a literal to look up); concepts of
        a label compatible with the entity's, as for fuzzy search.

        The names found are cached by key and label, as :meth:`_fuzzy_hits` caches its
        searches: the graph's ``LIKE`` queries cost ~3 ms per mention (one per gap between
        its words), and mentions repeat across documents."""
        cache_key = (key, label)
        found = self._inserted_cache.get(cache_key)
        if found is None:
            if len(self._inserted_cache) >= self._FUZZY_CACHE_SIZE:
                self._inserted_cache.clear()
            found = self._inserted_cache[cache_key] = self._inserted_word_names(key, label)
        for cid, text in found:
            offer(cid, 0.8, "fuzzy", text)

    def _inserted_word_names(self, key: str, label: str | None) -> list[tuple[str, str]]:
        """(concept id, name) of the names :meth:`_offer_inserted_word` offers, in the graph's order."""
        labels = _COMPATIBLE.get(label or "") or {lb for group in _COMPATIBLE.values() for lb in group}
        pieces = key.split()
        if not 2 <= len(pieces) <= 4 or max(map(len, pieces)) < 4 or "%" in key or "_" in key:
            return []
        found = []
        for i in range(1, len(pieces)):
            pattern = " ".join(p + "%" for p in pieces[:i]) + " % " + " ".join(p + "%" for p in pieces[i:])
            rows = self.kg.query("SELECT s.concept_id, s.text, c.label FROM synonyms_fts f JOIN synonyms s ON s.rowid = f.rowid "
                                 "JOIN concepts c ON c.id = s.concept_id WHERE f.text LIKE ? LIMIT 200", (pattern,)).fetchall()
            for cid, text, concept_label in rows:
                if concept_label not in labels:
                    continue
                cand = key_of_tokens(text.split()).split()
                if len(cand) == len(pieces) + 1 and cand[:i] + cand[i + 1:] == pieces:
                    found.append((cid, text))
        return found

    def _offer_before_of(self, tokens: list[str], label: str | None, offer, keep_kind: bool = False) -> None:
        """``partial``: in "<finding> of <place>" the finding is the name ("plantar fascitis
        of left distal lateral foot" -> plantar fasciitis, "atrophy of the left calf" ->
        atrophy), linked by any route, scored 0.7 at most. With ``keep_kind``, not when the
        finding is one word and the place more than qualifiers ("adenocarcinoma of the prostate"
        is no *Adenocarcinoma*, "atrophy of the left calf" no bare *Atrophy*)."""
        words = [t.lower() for t in tokens]
        if "of" not in words[1:-1]:
            return
        at = words.index("of", 1)
        before = tokens[:at]
        if keep_kind and len(before) == 1 and not self._only_qualifiers(tokens[at + 1:]):
            return
        for link in self._link(" ".join(before), before, label, (), keep_kind=keep_kind):
            offer(link.concept_id, min(0.7, link.score), "partial", link.matched)

    def _only_qualifiers(self, tokens: list[str]) -> bool:
        """Are all ``tokens`` qualifiers (``link_qualifiers``), numbers or punctuation?"""
        quals = self.neighbours["link_qualifiers"]
        return all(t.lower() in quals or not any(ch.isalpha() for ch in t) or self._spinal_level.fullmatch(t)
                   for t in tokens)

    def _offer_head(self, tokens: list[str], offer, label: str | None = None, keep_kind: bool = False) -> None:
        """``partial``: the longest trailing part of the mention that names a concept
        ("primary lung cancer" -> "lung cancer"), scored 0.7 x its route's score.
        Not past an acronym ("ST depressions" is not a kind of "depression"), and only
        concepts of a label compatible with the entity's ("left face, arm" is not the arm).
        With ``keep_kind``, only past qualifiers ("severe chest pain" -> chest pain; not
        "radicular pain" -> pain, "pericardial hematoma" -> hematoma)."""
        allowed = _COMPATIBLE.get(label or "")
        for i in range(1, len(tokens)):
            dropped = tokens[i - 1]
            if dropped.isalpha() and dropped.isupper() and len(dropped) <= 5:
                return
            if keep_kind and not self._only_qualifiers([dropped]):
                return
            key = key_of_tokens(tokens[i:])
            entries = self.index.by_key(key) if key else []
            if entries:
                head = " ".join(tokens[i:])
                for entry in entries:
                    if not entry.is_abbreviation and (allowed is None or entry.label in allowed):
                        for cid in entry.concept_ids:
                            offer(cid, 0.7, "partial", head)
                return

    def _routes_for_ids(self, ids: tuple[str, ...], text: str, form: str | None):
        """Dictionary matches: the concepts are known; decide exact vs normalized per concept."""
        exact = self._exact_ids(ids, simple_norm(text))
        for cid in ids:
            if cid in exact:
                yield cid, 1.0, "exact", text
            elif form == "abbreviation":
                yield cid, 0.9, "abbreviation", text
            elif form == "modifier":  # "substernal chest pain": the finding's concepts, a modifier before them
                yield cid, 0.7, "partial", text
            else:
                yield cid, 0.95, "normalized", text

    def _offer_entry(self, entry: Entry, offer, norm: str, score: float) -> None:
        exact = self._exact_ids(entry.concept_ids, norm)
        for cid in entry.concept_ids:
            if entry.is_abbreviation and cid not in exact:
                offer(cid, 0.75 if entry.flags & FLAG_AMBIGUOUS else 0.9, "abbreviation", entry.meta.get("abbr", norm))
            else:
                offer(cid, 1.0 if cid in exact else score, "exact" if cid in exact else "normalized", norm)

    def _exact_ids(self, ids: tuple[str, ...] | list[str], norm: str) -> set[str]:
        return self.kg.with_synonym(ids, norm)

    def _concept_map(self, ids) -> dict[str, Concept]:
        missing = [i for i in ids if i not in self._concepts]
        if missing:
            if len(self._concepts) > 100_000:
                self._concepts.clear()
            self._concepts.update(self.kg.concepts(missing))
        return {i: self._concepts[i] for i in ids if i in self._concepts}

    # -- preferred vocabularies (``prefer``) -------------------------------------------
    def _offer_preferred(self, best: dict[str, tuple[float, str, str]], offer) -> None:
        """Add the preferred-vocabulary equivalents of the best candidates from other sources."""
        concepts = self._concept_map(best)
        top = max(v[0] for v in best.values())
        leaders = [cid for cid, v in best.items() if v[0] >= top and cid in concepts]
        if any(in_vocabulary(concepts[cid], p) for cid in leaders for p in self.prefer):
            return
        for cid in sorted(leaders)[: self.top_k]:
            for source in self.prefer:
                try:
                    mapped = self.kg.map_to(cid, source, broader=0)
                except KnowledgeGraphError:  # the graph has no such source: nothing to map to
                    continue
                for m in mapped:
                    offer(m.concept_id, best[cid][0], "xref", best[cid][2])

    def _rank(self, best: dict[str, tuple[float, str, str]], label: str | None, norm: str) -> list[ConceptLink]:
        concepts = self._concept_map(best)
        order = self.source_priority.get(label or "", [])
        prefer = self.prefer

        def key(cid: str):
            c = concepts[cid]
            src_rank = order.index(c.source) if c.source in order else len(order)
            group = next((i for i, p in enumerate(prefer) if in_vocabulary(c, p)), len(prefer))
            return (group, -best[cid][0], src_rank, simple_norm(c.name) != norm, len(c.name), cid)

        ranked = sorted((c for c in best if c in concepts), key=key)[: self.top_k]
        return [
            ConceptLink(cid, concepts[cid].name, concepts[cid].source, round(best[cid][0], 4), best[cid][1], best[cid][2])
            for cid in ranked
        ]
