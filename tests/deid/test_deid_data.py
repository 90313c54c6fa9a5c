"""Recall on the shared pii-spans corpus (skips when ../shared/data is absent)."""

from __future__ import annotations

import json

from medlens.deid import PatternRecognizer
from tests.conftest import shared_data


def test_pii_spans_structured_identifiers_recall():
    items = json.loads(shared_data("pii-spans", "pii_dev.json").read_text(encoding="utf-8"))
    rec = PatternRecognizer()
    n = hit = 0
    for x in items:
        spans = [s for s in x["spans"] if s["entity_type"] in ("EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD", "IBAN_CODE", "DOMAIN_NAME")]
        if not spans:
            continue
        pred = rec.predict(x["full_text"])
        for s in spans:
            n += 1
            hit += any(p.start < s["end_position"] and s["start_position"] < p.end for p in pred)
    assert n > 100 and hit / n >= 0.99
