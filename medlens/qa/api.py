"""``medlens.ask``: one entry point for the three kinds of questions.

- with a ``context`` (an abstract): a research question answered yes / no / maybe by
  :func:`medlens.qa.research.answer_research` (``kind="research"``);
- with ``docs`` (an index folder from ``medlens index build``, or a folder / JSONL corpus indexed on the fly):
  ranked answer sentences with document ids and offsets (``kind="documents"``);
- otherwise: a question about the knowledge graph (:class:`medlens.qa.graph.GraphQA`, ``kind="graph"``).

Every answer is an :class:`medlens.qa.models.Answer`; ``kind="none"`` says what was searched when nothing was found.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from medlens.errors import Errors, InputError, ModelError
from medlens.qa.graph import GraphQA, check_question
from medlens.qa.models import Answer

MAX_QUESTION_CHARS = 1000
"""Longest question accepted (a longer text belongs in the context)."""
MAX_TOP = 50
"""Most passages a documents question returns."""


@lru_cache(maxsize=4)
def _graph_qa(kg_path: str) -> GraphQA:
    from medlens.pipeline import shared_graph

    return GraphQA(shared_graph(kg_path))


@lru_cache(maxsize=4)
def _index(path: str, mtime: float):
    from medlens.qa.index import DocumentIndex

    return DocumentIndex.open(path)


def open_index(docs: str | Path, progress: bool = False):
    """An index folder (opened once per process while unchanged), or a folder / file / JSONL corpus indexed in
    memory."""
    from medlens.qa.index import MANIFEST, is_index, open_docs

    p = Path(docs)
    if is_index(p):
        return _index(str(p.resolve()), (p / MANIFEST).stat().st_mtime)
    return open_docs(p, progress=progress)


def ask(question: str, context: str | None = None, docs=None, *, kg_path: str | Path | None = None,
        top: int = 5, max_chars: int = MAX_QUESTION_CHARS, model_dir: str | Path | None = None) -> Answer:
    """Answer a medical question, with the evidence of every answer.

    Args:
        question: the question.
        context: an abstract or text the question is about: a yes / no / maybe research answer.
        docs: an index folder (``medlens index build``), a folder of ``.txt`` files or a JSONL corpus, or an open
            :class:`medlens.qa.index.DocumentIndex`: ranked answer passages.
        kg_path: knowledge graph for graph questions (None: ``$MEDLENS_KG`` or the default graph).
        top: most passages for a documents question.
        max_chars: longest question accepted.
        model_dir: the research model folder (None: the shipped one).

    Returns:
        An :class:`~medlens.qa.models.Answer`: ``kind`` ``research``, ``graph``, ``documents`` or ``none``.

    Raises:
        InputError: an empty (E351), too long (E352) or non-string (E350) question; an empty context (E359);
            both a context and documents (E361); an unknown or corrupt index (E353-E356); ``top`` out of range (E362).
        ModelError: a context was given but the research model is not installed (E360).
        KnowledgeGraphError: no knowledge graph (graph questions only).
    """
    q = check_question(question, max_chars)
    if context is not None and docs is not None:
        raise InputError(Errors.E361)
    if context is not None:
        if not isinstance(context, str) or not context.strip():
            raise InputError(Errors.E359)
        try:
            from medlens.qa.research import answer_research
        except ImportError as exc:
            raise ModelError(Errors.E360.format(details=exc)) from exc
        research = answer_research(q, context, model_dir=model_dir)
        return Answer(question=q, kind="research", intent="research", research=research,
                      searched=["the given context"])
    if docs is not None:
        if not 1 <= top <= MAX_TOP:
            raise InputError(Errors.E362.format(limit=MAX_TOP, value=top))
        from medlens.qa.index import DocumentIndex

        index = docs if isinstance(docs, DocumentIndex) else open_index(docs)
        items = index.answer(q, top=top)
        where = str(index.path) if index.path else str(docs)
        searched = [f"{len(index)} sentences of {index.n_documents} documents ({where}): BM25 and sentence "
                    "embeddings, fused, then answer-sentence selection"]
        if not items:
            return Answer(question=q, kind="none", intent="documents", searched=searched,
                          message="No sentence of the documents matches the question.")
        return Answer(question=q, kind="documents", intent="documents", answers=items, searched=searched)
    from medlens.kg.store import default_graph_path

    path = Path(kg_path) if kg_path else default_graph_path()
    return _graph_qa(str(path.expanduser().resolve())).answer(q)


__all__ = ["MAX_QUESTION_CHARS", "ask", "open_index"]
