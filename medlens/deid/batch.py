"""De-identifying many documents: all cores, in input order, resumable.

The same batch behaviour as ``medlens analyze`` (:mod:`medlens.batch`): a file,
a folder or stdin; every core, each worker building its pipeline once; a bad
document becomes a result with ``error`` and the batch goes on; ids already
in a JSONL output are skipped on ``--resume`` (:func:`medlens.batch.completed_ids`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from medlens.batch import completed_ids, run_documents
from medlens.deid.engine import ReplaceOptions
from medlens.deid.types import Replacement
from medlens.errors import MedlensError
from medlens.io.readers import DEFAULT_PATTERNS, InputDocument
from medlens.results import DocumentError as ErrorInfo  # the same error record as analyze

__all__ = ["DeidDocument", "DeidJob", "completed_ids", "deidentify_documents", "deidentify_one"]


class DeidDocument(BaseModel):
    """The de-identified form of one document (the stable JSON form of ``medlens deid``).

    Attributes:
        id: the document id (path relative to the input folder, file name or ``stdin``).
        text: the de-identified text (None when ``error`` is set).
        replacements: where each identifier was and where its replacement is (omitted with ``--no-mapping``).
        error: why the document could not be processed.
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: str = "1"
    id: str
    text: str | None = None
    replacements: list[Replacement] | None = None
    error: ErrorInfo | None = None


class DeidJob(BaseModel):
    """Everything a worker needs to build its pipeline and replace PHI (JSON-serializable)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kg_path: str | None = None
    protect_medical: bool = True
    types: list[str] | None = None
    use_lexicon: bool = True
    model: str | None = "default"
    max_chars: int = 2_000_000
    options: ReplaceOptions = ReplaceOptions()
    mapping: bool = True

    def build(self):
        """The de-identification pipeline (once per worker process)."""
        from medlens.deid.api import deid_pipeline

        return deid_pipeline(self.kg_path, protect_medical=self.protect_medical, types=self.types,
                             use_lexicon=self.use_lexicon, max_chars=self.max_chars, model=self.model)

    def process(self, nlp, doc: InputDocument) -> DeidDocument:
        return deidentify_one(nlp, doc, self)


def deidentify_one(nlp, doc: InputDocument, job: DeidJob) -> DeidDocument:
    """De-identify one input document; any failure is reported in the result, not raised."""
    from medlens.deid.api import deidentify_doc

    if doc.error is not None or doc.text is None:
        return DeidDocument(id=doc.id, error=ErrorInfo(type="InputError", message=doc.error or "no text"))
    try:
        result = deidentify_doc(nlp(doc.text), job.options)
        return DeidDocument(id=doc.id, text=result.text, replacements=result.replacements if job.mapping else None)
    except MedlensError as exc:
        return DeidDocument(id=doc.id, error=ErrorInfo(type=type(exc).__name__, message=str(exc)))
    except Exception as exc:  # noqa: BLE001 - one bad document must not stop a batch; the error is reported
        return DeidDocument(id=doc.id, error=ErrorInfo(type=type(exc).__name__, message=f"de-identification failed: {exc}"))


def deidentify_documents(source: str | Path, job: DeidJob, *, processes: int | None = None,
                         skip_ids: Iterable[str] = (), patterns: tuple[str, ...] = DEFAULT_PATTERNS,
                         chunk_size: int = 8, on_total: Callable[[int], None] | None = None,
                         nlp=None) -> Iterator[DeidDocument]:
    """De-identify every document of ``source``, yielding results in input order
    (:func:`medlens.batch.run_documents` with ``job`` as the task).

    Args:
        source: a text file, a folder (searched recursively for ``patterns``) or ``-`` for stdin.
        job: pipeline and replacement settings (each worker builds its pipeline from it).
        processes: worker processes; None uses every core, 1 runs in this process.
        skip_ids: ids to skip (documents finished by an earlier run).
        patterns: file name patterns searched in a folder.
        chunk_size: documents per task sent to a worker.
        on_total: called once with the number of documents to process.
        nlp: an already built pipeline to use in-process.

    Raises:
        InputError: ``source`` does not exist or a folder has no matching files.
    """
    return run_documents(source, job, processes=processes, skip_ids=skip_ids, patterns=patterns,
                         chunk_size=chunk_size, on_total=on_total, nlp=nlp)
