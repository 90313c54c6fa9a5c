"""``POST /v1/ask``: a medical question answered with its evidence (issue 15).

A question alone is answered from the service's knowledge graph; with ``context`` it is a research question
(yes / no / maybe, when the research model is installed); with ``index`` it is searched in one of the document
indexes the server is configured with (the ``ask_indexes`` setting, ``NAME=PATH``): a client names an index, never
a path. Answers run in a thread of the service process (graph lookups and one encoder call; no analysis worker).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from medlens.errors import InputError, KnowledgeGraphError, ModelError
from medlens.qa.models import Answer
from medlens.serve.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/v1", tags=["ask"])


def available() -> bool:
    """True when the question answering imports."""
    try:
        from medlens.qa.api import ask  # noqa: F401
        from medlens.qa.models import Answer  # noqa: F401
    except ImportError:
        return False
    return True


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question.", examples=["what are the symptoms of Marfan syndrome?"])
    context: str | None = Field(None, description="An abstract or text the question is about: a yes / no / maybe answer.")
    index: str | None = Field(None, max_length=200, description="Name of a document index configured on the server "
                                                                "(GET /v1/info lists them): ranked answer sentences.")
    top: int = Field(5, ge=1, le=50, description="Most answer passages for a documents question.")


def _graph_qa(request: Request):
    qa = getattr(request.app.state, "graph_qa", None)
    if qa is None:
        from medlens.qa.graph import GraphQA

        qa = request.app.state.graph_qa = GraphQA(request.app.state.kg)
    return qa


@router.post("/ask", response_model=Answer, responses={**ERROR_RESPONSES, 404: {"description": "Unknown index name"}},
             summary="Answer a medical question with its evidence (graph facts, context or document sentences)")
async def ask(request: Request, body: AskRequest) -> Answer:
    from medlens.io.readers import check_text
    from medlens.qa.graph import check_question

    settings = request.app.state.settings
    limit = settings.max_question_chars
    if len(body.question) > limit:
        raise ApiError(413, f"The question is {len(body.question):,} characters long; the limit is {limit:,} (the "
                            "max_question_chars setting). Put long text in 'context'.", "QuestionTooLong")
    if not body.question.strip():
        raise ApiError(422, "The question is empty; send it in the 'question' field.", "EmptyQuestion")
    if body.context is not None and len(body.context) > settings.max_text_chars:
        raise ApiError(413, f"The context is {len(body.context):,} characters long; the limit is "
                            f"{settings.max_text_chars:,} (the max_text_chars setting).")
    try:
        check_text(body.question, "The question")
        if body.context is not None:
            check_text(body.context, "The context")
        question = check_question(body.question, limit)
    except InputError as exc:
        raise ApiError(422, str(exc), "InvalidText") from None
    if body.context is not None and body.index is not None:
        raise ApiError(422, "Send either 'context' or 'index', not both.", "ContextAndIndex")
    if body.index is not None:
        indexes = settings.index_paths()
        if body.index not in indexes:
            names = ", ".join(sorted(indexes)) or "none is configured (the ask_indexes setting)"
            raise ApiError(404, f"Unknown document index '{body.index}'. Available indexes: {names}.", "UnknownIndex")
        from medlens.qa.api import ask as ask_fn
        from medlens.qa.index import is_index

        if not is_index(indexes[body.index]):  # the service never indexes a folder on the fly
            raise ApiError(503, f"The document index '{body.index}' is not a built index on the server; build it "
                                "with `medlens index build`.", "IndexUnavailable")
        try:
            return await run_in_threadpool(ask_fn, question, docs=indexes[body.index], top=body.top, max_chars=limit)
        except InputError as exc:
            raise ApiError(503, f"The document index '{body.index}' cannot be read on the server: {exc}",
                           "IndexUnavailable") from None
    if body.context is not None:
        from medlens.qa.api import ask as ask_fn

        try:
            return await run_in_threadpool(ask_fn, question, context=body.context, max_chars=limit)
        except InputError as exc:
            raise ApiError(422, str(exc), "InvalidContext") from None
        except ModelError as exc:
            raise ApiError(501, str(exc), "NoResearchModel") from None
    try:
        return await run_in_threadpool(_graph_qa(request).answer, question)
    except KnowledgeGraphError as exc:
        raise ApiError(422, str(exc), "KnowledgeGraph") from None
