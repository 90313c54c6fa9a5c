"""A batch task whose worker process dies on documents containing ``KILLME`` (tests of worker crashes).

It is the real analyze task otherwise; the crash is a real one (``os._exit`` in the worker process), as a
segfault in a native library would be.
"""

from __future__ import annotations

import os

from medlens.batch import AnalyzeTask
from medlens.results import DocumentResult


class CrashingTask(AnalyzeTask):
    def process(self, nlp, doc) -> DocumentResult:
        if doc.text and "KILLME" in doc.text:
            os._exit(17)
        return super().process(nlp, doc)

    @property
    def result_model(self):
        return DocumentResult
