"""De-identification: find the HIPAA Safe Harbor identifiers in clinical text and replace them.

- :class:`PatternRecognizer` — validated patterns, addresses and names (rules in ``resources/en/deid/``);
- :class:`HybridRecognizer` — the patterns united with the transformer PHI model
  (:mod:`medlens.deid.model`, shipped in ``assets/deid`` when available; trained on
  :mod:`medlens.deid.training_data`);
- the ``medlens_deid`` spaCy component (:mod:`medlens.components.deid`) writes ``doc.spans["phi"]``;
- :func:`replace_phi` / :func:`deidentify` / :func:`deidentify_doc` — redact, mask or
  consistent surrogates per type, with the offset mapping;
- :mod:`medlens.deid.generator` — synthetic notes with PHI at known offsets;
- :func:`medlens.deid.batch.deidentify_documents` — files, folders and stdin on every core.

Nothing is loaded at import time.
"""

from __future__ import annotations

from medlens.deid.api import deid_pipeline, deidentify, deidentify_doc
from medlens.deid.engine import ReplaceOptions, make_options, replace_phi
from medlens.deid.recognizer import HybridRecognizer, PatternRecognizer
from medlens.deid.types import ACTIONS, PHI_TYPES, DeidResult, PhiSpan, Replacement

__all__ = ["ACTIONS", "PHI_TYPES", "DeidResult", "HybridRecognizer", "PatternRecognizer", "PhiSpan", "Replacement", "ReplaceOptions",
           "deid_pipeline", "deidentify", "deidentify_doc", "make_options", "replace_phi"]
