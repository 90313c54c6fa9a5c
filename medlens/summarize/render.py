"""Readable text of a note summary."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: models.NoteSummary.text imports this module
    from medlens.summarize.models import NoteSummary, SummaryItem

_TITLES = (
    ("problems", "Problems"),
    ("medications", "Medications"),
    ("allergies", "Allergies"),
    ("positive_findings", "Key findings"),
    ("pertinent_negatives", "Pertinent negatives"),
    ("abnormal_results", "Abnormal results"),
    ("procedures", "Procedures"),
    ("changes", "What changed"),
    ("follow_up", "Follow-up and pending"),
)


def _line(item: SummaryItem, kind: str) -> str:
    where = ", ".join(dict.fromkeys(s.section.replace("_", " ") for s in item.sources))
    offsets = ", ".join(f"{s.start}-{s.end}" for s in item.sources[:4]) + (" ..." if len(item.sources) > 4 else "")
    name = item.text
    if item.concept_name and item.concept_name.lower() != item.text.lower() and kind != "follow_up":
        name += f" [{item.concept_name}]"
    extra = []
    if kind == "problems":
        extra.append(item.status.replace("_", " "))
    if item.dates:
        extra.append(", ".join(item.dates))
    if item.attributes:
        extra.append(", ".join(f"{k} {v}" for k, v in item.attributes.items()))
    if kind == "changes":
        extra.append(item.status)
    if kind == "medications" and item.status != "active":
        extra.append(item.status)
    head = f"- {name}" + (f" ({'; '.join(extra)})" if extra else "")
    return f"{head}\n    from: {where} (chars {offsets})" + (f"; why here: {item.reason}" if kind == "problems" else "")


def note_summary_text(summary: NoteSummary) -> str:
    """The summary as plain text, most important problems first, each with its sources."""
    lines: list[str] = [f"Summary{f' of {summary.id}' if summary.id else ''}"]
    for field, title in _TITLES:
        items = getattr(summary, field)
        if field == "allergies" and not items:
            lines.append(f"\n{title}: {'no known allergies' if summary.no_known_allergies else 'none written'}")
            continue
        if not items:
            lines.append(f"\n{title}: none found")
            continue
        lines.append(f"\n{title}:")
        lines.extend(_line(i, field) for i in items)
    for warning in summary.warnings:
        lines.append(f"\nnote: {warning}")
    return "\n".join(lines) + "\n"
