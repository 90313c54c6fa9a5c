"""Replacing detected PHI: redact, mask, surrogate or keep, per PHI type.

:func:`replace_phi` is pure: it takes the text and the detected spans and
returns a :class:`~medlens.deid.types.DeidResult` with the new text and the
mapping of every original span to its new offsets. Nothing here logs text.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from medlens.deid.surrogates import SurrogateMaker
from medlens.deid.types import ACTIONS, PHI_TYPES, Action, DeidResult, PhiSpan, Replacement
from medlens.errors import ConfigError, Errors


class ReplaceOptions(BaseModel):
    """How each PHI type is replaced.

    Attributes:
        default_action: for types not in ``actions``: ``redact`` (``[NAME]``), ``mask``
            (letters and digits become ``*``, the rest is kept), ``surrogate``
            (a realistic, format-keeping stand-in) or ``keep``.
        actions: per-type overrides, e.g. ``{"DATE": "surrogate", "LOCATION": "keep"}``.
        key: a secret (str or bytes) that makes surrogates and the date shift
            reproducible: use one key per patient to keep a patient's documents
            consistent. None draws a random key per call (consistent within one document).
        max_shift_days: surrogate dates move by a key-derived 1..max_shift_days days.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_action: Action = "redact"
    actions: dict[str, Action] = Field(default_factory=dict)
    key: str | bytes | None = Field(default=None, repr=False)
    max_shift_days: int = Field(365, ge=1, le=3650)

    @field_validator("actions")
    @classmethod
    def _types(cls, v: dict[str, str]) -> dict[str, str]:
        for t in v:
            if t not in PHI_TYPES:
                raise ValueError(f"unknown PHI type '{t}'; accepted: {', '.join(PHI_TYPES)}")
        return v


def make_options(options: ReplaceOptions | Mapping | None = None, **overrides) -> ReplaceOptions:
    """Validated :class:`ReplaceOptions` from options, a dict and/or keywords.

    Raises:
        ConfigError: an unknown PHI type or action (the message names it and the accepted ones).
    """
    base = options.model_dump() if isinstance(options, ReplaceOptions) else dict(options or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ReplaceOptions.model_validate(base)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']} (got {e.get('input')!r}; "
                            f"accepted actions: {', '.join(ACTIONS)})" for e in exc.errors())
        raise ConfigError(Errors.E003.format(details=details)) from exc


_TITLE_WINDOW = 12  # characters before a name in which its title ("Mrs. ") stands
_PRONOUN_WINDOW = 200  # characters after a name in which a he/she pronoun is read as its (before the next name)


def _mask(text: str) -> str:
    return "".join("*" if c.isalnum() else c for c in text)


def _name_context(text: str, spans: Sequence[PhiSpan], i: int) -> dict[str, str]:
    """For a NAME: the few characters before it (a title) and the text after it up to the next name (a pronoun)."""
    span = spans[i]
    if span.type != "NAME":
        return {}
    end = next((s.start for s in spans[i + 1:] if s.type == "NAME" and s.start >= span.end), len(text))
    return {"before": text[max(0, span.start - _TITLE_WINDOW):span.start],
            "after": text[span.end:min(end, span.end + _PRONOUN_WINDOW)]}


def replace_phi(text: str, spans: Sequence[PhiSpan], options: ReplaceOptions | None = None,
                maker: SurrogateMaker | None = None) -> DeidResult:
    """Replace every span of ``text`` according to ``options``.

    Args:
        text: the original text.
        spans: non-overlapping PHI spans (as from :class:`~medlens.deid.recognizer.PatternRecognizer`).
        options: actions per type and the surrogate key (default: redact everything).
        maker: a surrogate maker to reuse (built from ``options.key`` when None).

    Returns:
        The new text and one :class:`Replacement` per span, with old and new offsets.
    """
    opts = options or ReplaceOptions()
    if maker is None and (opts.default_action == "surrogate" or "surrogate" in opts.actions.values()):
        key = opts.key if opts.key is not None else secrets.token_bytes(32)
        maker = SurrogateMaker(key.encode("utf-8") if isinstance(key, str) else key, opts.max_shift_days)
    parts: list[str] = []
    out: list[Replacement] = []
    pos = 0
    new_len = 0
    ordered = sorted(spans, key=lambda s: s.start)
    for i, span in enumerate(ordered):
        if span.start < pos:
            continue  # overlapping input: the first span wins
        action = opts.actions.get(span.type, opts.default_action)
        original = text[span.start:span.end]
        if action == "redact":
            new = f"[{span.type}]"
        elif action == "mask":
            new = _mask(original)
        elif action == "surrogate":
            new = maker.make(span.type, original, **_name_context(text, ordered, i))
        else:
            new = original
        gap = text[pos:span.start]
        parts.append(gap)
        new_len += len(gap)
        parts.append(new)
        out.append(Replacement(type=span.type, action=action, start=span.start, end=span.end,
                               new_start=new_len, new_end=new_len + len(new), source=span.source))
        new_len += len(new)
        pos = span.end
    parts.append(text[pos:])
    return DeidResult(text="".join(parts), replacements=out)
