"""Dictionary entity recognition over the knowledge graph's synonyms.

Every synonym in the graph (ICD-10-CM, HPO, MeSH, drugs, the curated
lexicon, clinical abbreviations) was reduced to a key at build time and put in
a word-level index (:mod:`medlens.kg.index`). Here the document's tokens are
reduced the same way, the index finds every key that starts and ends on token
boundaries, and the longest non-overlapping matches become
``doc.ents``, each carrying the ids of the concepts its synonym names
(``span._.match_ids``) for the linker.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from medlens.doc import extensions
from medlens.kg.index import FLAG_ABBREVIATION, FLAG_CASE_SENSITIVE, UNKNOWN, Entry, MatchIndex
from medlens.kg.store import LABELS, KnowledgeGraph, shared_graph
from medlens.medications.names import merge_drug_names
from medlens.components.sections import header_ranges
from medlens.normalize import key_of_tokens, short_form_fits, token_pieces


# Tokens that end a match: no synonym spans a clause boundary ("fever. Cough" is not
# "fever cough"). Hyphens, slashes and apostrophes join ("5-FU", "Alzheimer's").
_BREAKS = frozenset(".,;:!?()[]{}<>\"|•*=")
BREAK = "\x02"


@dataclass(frozen=True, slots=True)
class Match:
    """A candidate match: token span [start, end) and the index entry it hit."""

    start: int
    end: int
    entry: Entry


@Language.factory(
    "medlens_dictionary_ner",
    assigns=["doc.ents", "span._.match_ids", "span._.matched_form", "span._.ner_source"],
    requires=["doc._.sections"],
    default_config={"labels": None, "overwrite_ents": False, "kg_path": None, "local_abbreviations": True},
)
def make_dictionary_ner(nlp: Language, name: str, labels: list[str] | None, overwrite_ents: bool, kg_path: str | None,
                        local_abbreviations: bool) -> DictionaryRecognizer:
    extensions.register()
    return DictionaryRecognizer(nlp, name=name, kg=shared_graph(kg_path), labels=labels, overwrite_ents=overwrite_ents,
                                local_abbreviations=local_abbreviations)


class DictionaryRecognizer:
    """Finds knowledge-graph synonyms in text.

    Args:
        nlp: the pipeline (only its vocab is used).
        name: component name.
        kg: the knowledge graph to match (passed in; the component never opens files).
        labels: keep only entities with these labels (its own matches, and the entities earlier
            components found, after merging); None keeps every label but OTHER.
        overwrite_ents: if True, dictionary matches replace overlapping existing
            entities; if False (default) existing entities (e.g. from a model) win.
        local_abbreviations: if True (default), an abbreviation the document defines
            after a matched term ("Huntington disease (HD)") is recognized, with the
            term's concepts, wherever the document uses it.
    """

    def __init__(self, nlp: Language, name: str = "medlens_dictionary_ner", *, kg: KnowledgeGraph,
                 labels: list[str] | None = None, overwrite_ents: bool = False,
                 local_abbreviations: bool = True) -> None:
        extensions.register()
        if labels is not None:
            from medlens.errors import ConfigError, Errors

            for label in labels:
                if label not in LABELS:
                    raise ConfigError(Errors.E007.format(value=label, opts=", ".join(LABELS)))
        self.name = name
        self.kg = kg
        self.index = MatchIndex.from_graph(kg)
        self.keep_labels = frozenset(labels) if labels else None
        self.overwrite_ents = overwrite_ents
        self.local_abbreviations = local_abbreviations
        self._cache: dict[str, str] = {}
        self._plural_cache: dict[tuple[str, int], bool] = {}
        from medlens.components.transformer_ner import not_entities, section_not_entities

        self.not_entities = not_entities()
        self.section_not_entities = section_not_entities()

    def _encoded(self, text: str) -> str:
        """A token's code-point string: its pieces' codes; a break mark for clause punctuation."""
        enc = self._cache.get(text)
        if enc is None:
            if text in _BREAKS or text.isspace():
                enc = BREAK
            else:
                get = self.index.vocab.pieces.get
                enc = "".join(get(p, UNKNOWN) for p in token_pieces(text))
            if len(self._cache) > 500_000:
                self._cache.clear()
            self._cache[text] = enc
        return enc

    def predict(self, doc: Doc) -> list[Match]:
        """Longest non-overlapping matches in ``doc`` (pure: writes nothing)."""
        encode = self._encoded
        encs = [encode(t.text) for t in doc]
        ends = list(accumulate(map(len, encs)))  # stream end offset of each token
        starts = [0, *ends[:-1]]
        raw: list[tuple[int, int, int, bool]] = []
        for start, end, value in self.index.find("".join(encs), dict.fromkeys(starts)):
            last_tok = bisect_right(ends, end - 1)
            # a key must end on a token boundary ("type-2" is one token, two pieces)
            if ends[last_tok] == end:
                raw.append((bisect_right(ends, start), last_tok + 1, value >> 8, bool(value & FLAG_CASE_SENSITIVE)))
        if not raw:
            return []
        entries = self.index.entries({r[2] for r in raw})
        headers = header_ranges(doc)
        matches = []
        for start, end, entry_id, case_sensitive in raw:
            entry = entries[entry_id]
            if headers and _in_header(doc[start].idx, headers):
                continue  # "HISTORY OF PRESENT ILLNESS:" names a section, not a finding
            if case_sensitive and not _written_as_acronym(doc[start:end].text, entry):
                continue
            if end - start == 1 and self._only_an_acronyms_plural(doc[start].text, entry):
                continue  # "works hard": "hard" is the plural-folded key of "HARDS" (hantavirus ARDS)
            if self.not_entities and doc[start:end].text.lower() in self.not_entities:
                continue  # "acute disease" of "in no acute disease" names no finding (model_stopwords.json)
            if self.section_not_entities and doc[start:end].text.lower() in self.section_not_entities.get(
                    _section_at(doc, doc[start].idx), ()):
                continue  # "the wound was irrigated" of an operative note: the incision, no injury
            if self.keep_labels is not None and entry.label not in self.keep_labels:
                continue
            blocked = entry.meta.get("not_in_sections") if entry.meta else None
            if blocked and _section_at(doc, doc[start].idx) in blocked:
                continue
            matches.append(Match(start, end, entry))
        # longest first, then leftmost; ties keep the first found
        matches.sort(key=lambda m: (-(m.end - m.start), m.start))
        taken = bytearray(len(doc))
        chosen = []
        for m in matches:
            if any(taken[m.start:m.end]):
                continue
            taken[m.start:m.end] = b"\x01" * (m.end - m.start)
            chosen.append(m)
        chosen.sort(key=lambda m: m.start)
        if self.local_abbreviations:
            chosen = self._with_local_abbreviations(doc, chosen, taken)
        return chosen

    def _only_an_acronyms_plural(self, word: str, entry: Entry) -> bool:
        """Is ``word``, written in small letters, matched only because the key folds the plural "s" of an
        acronym ("hard" of "HARDS", Hantavirus ARDS; "mod" of "MODS")? True when no synonym of the entry's
        concepts is ``word`` itself and one is ``word`` + "s" written in capitals (an acronym whose last
        letter is part of it, not a plural)."""
        if entry.is_abbreviation or not word.isalpha() or word.isupper():
            return False
        low = word.lower()
        cache = self._plural_cache
        hit = cache.get((low, entry.id))
        if hit is None:
            texts = {s.text.strip() for cid in entry.concept_ids for s in self.kg.synonyms(cid)}
            hit = (not any(t.lower() == low for t in texts)
                   and any(t.isupper() and t.lower() in (low + "s", low + "es") for t in texts))
            cache[(low, entry.id)] = hit
        return hit

    def _with_local_abbreviations(self, doc: Doc, chosen: list[Match], taken: bytearray) -> list[Match]:
        """Abbreviations a document defines, "Huntington disease (HD)": the short form,
        wherever it is written in the document, names the long form's concepts."""
        defined: dict[str, Entry] = {}
        n = len(doc)
        for m in chosen:
            if m.end + 2 < n and doc[m.end].text == "(" and doc[m.end + 2].text == ")":
                short = doc[m.end + 1].text
                if (2 <= len(short) <= 10 and any(c.isupper() for c in short) and not short.isdigit()
                        and short not in defined and short_form_fits(short, doc[m.start:m.end].text)):
                    e = m.entry
                    defined[short] = Entry(-e.id, e.label, e.concept_ids, e.flags | FLAG_ABBREVIATION,
                                           {**e.meta, "abbr": short, "defined_at": doc[m.start].idx})
        if not defined:
            return chosen
        extra = [Match(t.i, t.i + 1, defined[t.text]) for t in doc if t.text in defined and not taken[t.i]]
        return sorted(chosen + extra, key=lambda m: m.start)

    def set_annotations(self, doc: Doc, matches: list[Match]) -> None:
        """Write the matches into ``doc.ents`` with their candidate concept ids.

        An existing entity (e.g. from the transformer recognizer) keeps its
        boundaries; where a match has exactly its boundaries, the entity takes the
        match's concept ids and the graph's more specific label (SYMPTOM rather
        than DISEASE, DRUG rather than CHEMICAL) and keeps its ``ner_source``.
        A SYMPTOM or FINDING match that strictly contains existing entities (and
        cuts none) replaces them: the graph knows a longer, more specific name
        ("productive cough" around the model's "cough"), for labels the model
        was not trained on; so does a TEST around chemicals ("oxygen saturation"
        around the model's "oxygen"). A model DISEASE whose last words are a symptom
        or finding the graph knows, after lowercase qualifiers only ("left ankle
        pain", "chronic low back pain"), takes that label and keeps its boundaries; so does
        a model DISEASE or CHEMICAL whose last words are a body part the graph knows after
        words that only say where ("left distal fifth metatarsal bone" is ANATOMY).
        """
        existing = list(doc.ents)
        spans = [(m, Span(doc, m.start, m.end, label=m.entry.label)) for m in matches]
        if self.overwrite_ents:
            kept = filter_spans([s for _, s in spans] + existing)
            ours = {(s.start, s.end) for _, s in spans}
            final = kept
        else:
            taken = bytearray(len(doc))
            by_bounds = {(e.start, e.end): i for i, e in enumerate(existing)}
            for e in existing:
                taken[e.start:e.end] = b"\x01" * (e.end - e.start)
            final: list[Span | None] = list(existing)
            longer: set[tuple[int, int]] = set()
            for m, span in spans:
                i = by_bounds.get((m.start, m.end))
                if i is None and any(taken[m.start:m.end]):
                    hit = [j for j, e in enumerate(existing) if final[j] is not None and e.start < m.end and m.start < e.end]
                    if hit and (m.entry.label in _FINDING_LABELS
                                or (m.entry.label == "TEST" and all(existing[j].label_ in _SUBSTANCES for j in hit))
                                or (m.entry.label == "DISEASE" and all(
                                    existing[j]._.ner_source == "model" and len(existing[j]) == 1
                                    and existing[j][0].is_lower and not self._names_something(existing[j][0].text)
                                    for j in hit))) \
                            and all(m.start <= existing[j].start and existing[j].end <= m.end for j in hit):
                        # (a disease name around a model span of one lowercase word that names nothing on its own:
                        # "pleural" of "no pleural effusion")
                        # a longer symptom or finding the graph knows around earlier spans ("productive
                        # cough" around the model's "cough"): the concept wins. Not for diseases and drugs,
                        # whose boundaries the model learned (on NCBI/BC5CDR devel this rule for every label
                        # cost 0.6 / 1.5 F1)
                        for j in hit:
                            final[j] = None
                        final.append(span)
                        longer.add((m.start, m.end))
                    elif m.entry.label in _FINDING_LABELS and len(hit) == 1:
                        j = hit[0]
                        e = final[j]
                        if (e.label_ == "DISEASE" and not e._.match_ids and e.start < m.start and m.end == e.end
                                and all(t.is_alpha and t.is_lower for t in doc[e.start:m.start])):
                            # the model's "left ankle pain": its head is a symptom the graph knows, the
                            # words before it only qualify it, so the entity is a symptom too
                            relabelled = Span(doc, e.start, e.end, label=m.entry.label)
                            relabelled._.ner_source = e._.ner_source
                            relabelled._.ner_score = e._.ner_score
                            final[j] = relabelled
                    elif m.entry.label == "ANATOMY" and len(hit) == 1:
                        j = hit[0]
                        e = final[j]
                        if (e.label_ in _MODEL_NON_ANATOMY and not e._.match_ids and e.start < m.start and m.end == e.end
                                and all(t.lower_ in _PLACE_WORDS for t in doc[e.start:m.start])):
                            # the model's "left distal fifth metatarsal bone": a body part the graph knows
                            # after words that only say where ("carcinoma of the lung" is no such span)
                            relabelled = Span(doc, e.start, e.end, label="ANATOMY")
                            relabelled._.ner_source = e._.ner_source
                            relabelled._.ner_score = e._.ner_score
                            final[j] = relabelled
                    continue
                if i is not None and not existing[i]._.match_ids:
                    merged = Span(doc, m.start, m.end, label=m.entry.label)
                    source = existing[i]._.ner_source
                    merged._.match_ids = m.entry.concept_ids
                    merged._.matched_form = "abbreviation" if m.entry.is_abbreviation else "dictionary"
                    merged._.ner_source = source
                    merged._.ner_score = existing[i]._.ner_score
                    final[i] = merged
                elif i is None:
                    final.append(span)
            ours = {(s.start, s.end) for _, s in spans if not any(taken[s.start:s.end])} | longer
            final = [s for s in final if s is not None]
        for m, span in spans:
            if (span.start, span.end) in ours:
                span._.match_ids = m.entry.concept_ids
                span._.matched_form = "abbreviation" if m.entry.is_abbreviation else "dictionary"
                span._.ner_source = "dictionary"
        final = _attach_modifiers(doc, sorted(final, key=lambda s: s.start))
        # "metoprolol succinate", "albuterol inhaler": a drug with its salt or form words is one entity;
        # a chemical trimmed of a number ("potassium 5" of a lab list) takes the match at its bounds (TEST)
        by_bounds_match = {(m.start, m.end): (m.entry.label, m.entry.concept_ids,
                                              "abbreviation" if m.entry.is_abbreviation else "dictionary")
                           for m, _ in spans}
        final = merge_drug_names(doc, final, by_bounds_match)
        if self.keep_labels is not None:  # also drops earlier components' entities of other labels
            final = [s for s in final if s.label_ in self.keep_labels]
        doc.ents = sorted(final, key=lambda s: s.start)

    def _names_something(self, word: str) -> bool:
        """Is ``word`` alone a key of the graph ("tremor": yes; "pleural": no)?"""
        key = key_of_tokens([word])
        return bool(key and self.index.by_key(key))

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc


_FINDING_LABELS = frozenset({"SYMPTOM", "FINDING"})
_MODEL_NON_ANATOMY = frozenset({"DISEASE", "CHEMICAL"})  # the model's labels; it knows no anatomy
#: words that only say where a body part is: before an anatomy name the graph knows they keep it anatomy
_PLACE_WORDS = frozenset("""left right bilateral both distal proximal medial lateral upper lower anterior posterior
superior inferior mid middle dorsal ventral plantar palmar volar internal external deep superficial central
first second third fourth fifth 1st 2nd 3rd 4th 5th""".split())
_SUBSTANCES = frozenset({"CHEMICAL", "DRUG"})  # a test the graph names around them is the test ("oxygen saturation")


def _attach_modifiers(doc: Doc, ents: list[Span]) -> list[Span]:
    """A one-word model span the graph does not know, written right before a symptom or
    finding the graph does know, is its modifier: "substernal" + "chest pain" is one
    SYMPTOM, "substernal chest pain", with the finding's concepts (the model, trained on
    disease names, tags such words DISEASE on their own)."""
    out: list[Span] = []
    i = 0
    while i < len(ents):
        e = ents[i]
        nxt = ents[i + 1] if i + 1 < len(ents) else None
        if (nxt is not None and len(e) == 1 and e.end == nxt.start and not e._.match_ids and nxt._.match_ids
                and nxt.label_ in _FINDING_LABELS and e.text.isalpha() and e.text.islower()
                and e[0].whitespace_ == " "):
            merged = Span(doc, e.start, nxt.end, label=nxt.label_)
            merged._.match_ids = nxt._.match_ids
            merged._.matched_form = "modifier"
            merged._.ner_source = nxt._.ner_source
            out.append(merged)
            i += 2
            continue
        out.append(e)
        i += 1
    return out


def _written_as_acronym(text: str, entry: Entry) -> bool:
    """Case rule for acronym keys: written exactly as the abbreviation, or in capitals."""
    if entry.meta and text == entry.meta.get("abbr"):
        return True
    letters = [c for c in text if c.isalpha()]
    # "CHF", "DM2", "MIs": capitals, a plural "s" allowed
    if letters and letters[-1] == "s" and len(letters) > 2:
        letters = letters[:-1]
    return bool(letters) and all(c.isupper() for c in letters)


def _in_header(char: int, headers: list[tuple[int, int]]) -> bool:
    i = bisect_right(headers, (char, float("inf"))) - 1
    return i >= 0 and headers[i][0] <= char < headers[i][1]


def _section_at(doc: Doc, char: int) -> str | None:
    sections = doc._.sections or []
    for s in sections:
        if s.start_char <= char < s.end_char:
            return s.category
    return None
