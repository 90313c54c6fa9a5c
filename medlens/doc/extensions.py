"""The ONLY place medlens registers custom spaCy attributes (``._.x``).

Call :func:`register` once (``medlens.load()`` and every medlens factory do
it for you). Registering is idempotent for medlens's own attributes; if another
package already registered an attribute of the same name, a
:class:`~medlens.errors.ConfigError` is raised instead of overwriting it.

Doc
    ``sections``      list[Section]   written by ``medlens_sections``
    ``doc_id``        str | None      set by readers / batch jobs
    ``categories``    tuple[str,...]  labels decided by ``medlens_classifier``, most probable first
                                      (their probabilities are in spaCy's own ``doc.cats``)
    ``adverse_events`` tuple[AdverseEvent,...]  (drug) -[caused]-> (effect), written by ``medlens_adverse_events``
    ``relations``     tuple[Relation,...]  document-level (head) -[predicate]-> (tail) between concepts,
                                      written by ``medlens_relations``
Span
    ``section``       str             category of the section the span starts in (getter)
    ``assertion``     Assertion       written by ``medlens_context`` (None before)
    ``is_negated`` / ``is_uncertain`` / ``is_historical`` / ``is_hypothetical`` /
    ``is_family``     bool            getters over ``assertion``
    ``match_ids``     tuple[str,...]  concept ids of the dictionary synonym matched, written by ``medlens_dictionary_ner``
    ``matched_form``  str             "exact", "normalized" or "abbreviation", written by ``medlens_dictionary_ner``
    ``concepts``      list[ConceptLink]  ranked links, written by ``medlens_linker``
    ``ner_source``    str             which recognizer produced the entity ("dictionary", "model")
    ``ner_score``     float | None    the model's confidence in a model entity: the least probability of the
                                      tag it gave a word of the span (None for dictionary entities)
    ``attributes``    dict[str, DrugAttribute]  a drug's strength, dose, route, frequency, duration, status,
                                      indication (kind -> attribute), written by ``medlens_drug_attributes``
                                      (None on other entities and before it ran)
Token
    ``is_section_header`` bool        written by ``medlens_sections``
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from spacy.tokens import Doc, Span, Token

from medlens.errors import ConfigError, Errors

_OWNER = "medlens"


def _span_section(span: Span) -> str:
    sections = span.doc._.sections
    if not sections:
        return "unknown"
    starts = [s.start_char for s in sections]
    i = bisect_right(starts, span.start_char) - 1
    if i < 0:
        return "unknown"
    return sections[i].category


def _flag(name: str):
    def getter(span: Span) -> bool:
        assertion = span._.assertion
        return bool(assertion is not None and getattr(assertion, name))

    return getter


_DOC: dict[str, dict[str, Any]] = {
    "sections": {"default": None},
    "doc_id": {"default": None},
    "categories": {"default": ()},
    "adverse_events": {"default": ()},
    "relations": {"default": ()},
}
_SPAN: dict[str, dict[str, Any]] = {
    "section": {"getter": _span_section},
    "assertion": {"default": None},
    "is_negated": {"getter": _flag("negated")},
    "is_uncertain": {"getter": _flag("uncertain")},
    "is_historical": {"getter": _flag("historical")},
    "is_hypothetical": {"getter": _flag("hypothetical")},
    "is_family": {"getter": _flag("family")},
    "match_ids": {"default": ()},
    "matched_form": {"default": None},
    "concepts": {"default": None},
    "ner_source": {"default": None},
    "ner_score": {"default": None},
    "attributes": {"default": None},
}
_TOKEN: dict[str, dict[str, Any]] = {
    "is_section_header": {"default": False},
}

_registered = False


def _register_on(cls: type, attrs: dict[str, dict[str, Any]]) -> None:
    for name, kwargs in attrs.items():
        existing = cls.get_extension(name)
        if existing is not None:
            # ours (same getter object / marker) -> fine; someone else's -> refuse
            if _MARK.get((cls.__name__, name)) is existing:
                continue
            raise ConfigError(Errors.E004.format(attr=name, obj=cls.__name__))
        cls.set_extension(name, **kwargs)
        _MARK[(cls.__name__, name)] = cls.get_extension(name)


_MARK: dict[tuple[str, str], Any] = {}


def register() -> None:
    """Register every medlens attribute on Doc, Span and Token (idempotent)."""
    global _registered
    if _registered:
        return
    _register_on(Doc, _DOC)
    _register_on(Span, _SPAN)
    _register_on(Token, _TOKEN)
    _registered = True


def attribute_names() -> dict[str, list[str]]:
    """Names of the attributes medlens registers, per spaCy class."""
    return {"Doc": list(_DOC), "Span": list(_SPAN), "Token": list(_TOKEN)}
