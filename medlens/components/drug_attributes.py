"""Drug attributes: strength, dose, route, frequency, duration, status and indication of each drug mention.

``medlens_drug_attributes`` reads, for every DRUG (and CHEMICAL) entity, the
text after it up to the next drug mention, the end of its sentence or line,
and the few words before it, with the rules of
``resources/en/medications/`` (:mod:`medlens.medications.attributes`), and
writes ``span._.attributes``: kind -> :class:`~medlens.doc.types.DrugAttribute`
(an empty dict when nothing is written; None stays on other entities).

    >>> doc = nlp("Metoprolol succinate 25 mg PO BID.")
    >>> {k: a.value for k, a in doc.ents[0]._.attributes.items()}
    {'strength': '25 mg', 'frequency': 'BID', 'route': 'PO'}
"""

from __future__ import annotations

import re
from bisect import bisect_right

from spacy.language import Language
from spacy.tokens import Doc, Span

from medlens.doc import extensions
from medlens.doc.text import doc_text
from medlens.doc.types import DrugAttribute
from medlens.medications.attributes import AttributeExtractor
from medlens.medications.names import DRUG_LABELS, implied_route


@Language.factory(
    "medlens_drug_attributes",
    assigns=["span._.attributes"],
    requires=["doc.ents"],
    default_config={"labels": ["DRUG", "CHEMICAL"], "max_chars": 160},
)
def make_drug_attributes(nlp: Language, name: str, labels: list[str], max_chars: int) -> DrugAttributes:
    """Factory of :class:`DrugAttributes`.

    Args:
        labels: entity labels read as drugs (default DRUG and CHEMICAL).
        max_chars: the most characters read after a drug mention.
    """
    return DrugAttributes(name, labels=labels, max_chars=max_chars)


class DrugAttributes:
    """The ``medlens_drug_attributes`` component (rules as data, no model).

    Args:
        name: the component's name in the pipeline.
        labels: entity labels read as drugs.
        max_chars: the most characters read after a drug mention.
    """

    def __init__(self, name: str = "medlens_drug_attributes", *, labels=tuple(DRUG_LABELS), max_chars: int = 160) -> None:
        extensions.register()
        self.name = name
        self.labels = frozenset(labels)
        self.extractor = AttributeExtractor(max_chars=max_chars)

    def predict(self, doc: Doc) -> list[tuple[Span, dict[str, DrugAttribute]]]:
        """Each drug entity of ``doc`` with its attributes (in ``doc.ents`` order, drugs only)."""
        ents = list(doc.ents)
        drugs = [e for e in ents if e.label_ in self.labels]
        if not drugs:
            return []
        # sentence bounds once (``span.sent`` and ``doc.sents`` walk every token of the document)
        sents = sentence_bounds(doc)
        starts = [a for a, _ in sents]
        text = doc_text(doc)
        others = [(e.start_char, e.end_char, e.label_, _ids(e)) for e in ents if e.label_ not in self.labels]
        out = []
        aliases = _parenthesized_aliases(text, drugs)
        for i, ent in enumerate(drugs):
            if i in aliases:  # "Versed (midazolam) 1 mg IV": the attributes are the first name's
                out.append((ent, {}))
                continue
            j = i + 1
            while j in aliases:
                j += 1
            stop = drugs[j].start_char if j < len(drugs) else len(text)
            sent_start = None
            if sents:
                k = max(0, bisect_right(starts, ent.start_char) - 1)
                sent_start, sent_end = sents[k]
                stop = min(stop, sent_end)
                # a status word before this drug belongs to it only if no other drug stands between
                if i > 0 and drugs[i - 1].end_char > sent_start:
                    sent_start = drugs[i - 1].end_char
            elif i > 0:
                sent_start = drugs[i - 1].end_char
            out.append((ent, self.extractor.extract(text, ent.start_char, ent.end_char, stop=stop,
                                                    sentence_start=sent_start, entities=others,
                                                    name_route=implied_route(ent.text, self.extractor.rules))))
        return _share_pair_schedule(text, _share_list_status(text, out))

    def set_annotations(self, doc: Doc, found: list[tuple[Span, dict[str, DrugAttribute]]]) -> None:
        """Write each drug entity's attributes to ``span._.attributes``."""
        for ent, attrs in found:
            ent._.attributes = attrs

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations(doc, self.predict(doc))
        return doc


_ALIAS_OPEN = re.compile(r"[ \t]*\([ \t]*")
_ALIAS_CLOSE = re.compile(r"[ \t]*\)")


def _parenthesized_aliases(text: str, drugs: list[Span]) -> set[int]:
    """Indexes of drug entities that only rename the drug before them in parentheses ("Fentanyl
    (Sublimaze) 0.1 mg IV", "PTU (propylthiouracil) 300 mg"): the attributes after the closing
    parenthesis belong to the first name, and the alias gets an empty dict."""
    out = set()
    for i in range(1, len(drugs)):
        prev, ent = drugs[i - 1], drugs[i]
        if (i - 1) not in out and _ALIAS_OPEN.fullmatch(text, prev.end_char, ent.start_char) \
                and _ALIAS_CLOSE.match(text, ent.end_char):
            out.add(i)
    return out


_PAIR_GAP = re.compile(r"\s+(?:and|or|&)\s+|\s*/\s*", re.I)


def _share_pair_schedule(text: str, found: list[tuple[Span, dict[str, DrugAttribute]]]) -> list[tuple[Span, dict[str, DrugAttribute]]]:
    """Two drugs joined by "and"/"or" share the route, frequency and status written after the second
    when the first has no attribute of its own: "Xopenex and albuterol p.r.n." -> both as needed;
    "amlodipine and lisinopril are on hold" -> both held. Strengths and doses are never shared."""
    out = list(found)
    for i in range(len(out) - 1):
        (ent, attrs), (nxt, nattrs) = out[i], out[i + 1]
        if attrs or not _PAIR_GAP.fullmatch(text[ent.end_char:nxt.start_char]):
            continue
        shared = {k: nattrs[k] for k in ("route", "frequency", "status")
                  if k in nattrs and nattrs[k].start_char >= nxt.end_char}
        if shared:
            out[i] = (ent, shared)
    return out


def _ids(span) -> tuple[str, ...]:
    concepts = span._.concepts or []
    if concepts:
        return tuple(c.concept_id for c in concepts)
    return tuple(span._.match_ids or ())


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """Character (start, end) of each sentence, read from the SENT_START array in one pass; [] when
    the document has no sentence boundaries. A sentence ends where the next one starts."""
    from spacy.attrs import SENT_START

    if len(doc) == 0:
        return []
    flags = doc.to_array(SENT_START)  # 1 starts a sentence, -1 does not, 0 unset
    if not flags[1:].any():
        return []
    firsts = [0] + [i for i in (flags == 1).nonzero()[0].tolist() if i > 0]
    starts = [doc[i].idx for i in firsts]
    last = doc[-1]
    return list(zip(starts, starts[1:] + [last.idx + len(last.text_with_ws)]))


_LIST_GAP = re.compile(r"[\s,]*(?:(?:and|or|as well as)\s+)?", re.I)


def _share_list_status(text: str, found: list[tuple[Span, dict[str, DrugAttribute]]]) -> list[tuple[Span, dict[str, DrugAttribute]]]:
    """A status word before a list of drugs belongs to each of them: "started on aspirin, clopidogrel,
    heparin drip and atorvastatin" -> all four started. A drug without a status of its own takes the
    previous drug's when only commas, "and" or "or" (after the previous drug's own attributes) stand between."""
    out = list(found)
    for i in range(1, len(out)):
        (prev, pattrs), (ent, attrs) = out[i - 1], out[i]
        if "status" in attrs or "status" not in pattrs or pattrs["status"].start_char > prev.start_char:
            continue
        after = max([prev.end_char] + [a.end_char for a in pattrs.values() if a.start_char >= prev.end_char])
        if after <= ent.start_char and _LIST_GAP.fullmatch(text[after:ent.start_char]):
            out[i] = (ent, {**attrs, "status": pattrs["status"]})
    return out
