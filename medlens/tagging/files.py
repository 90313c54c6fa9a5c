"""Files of a model folder: ``tokenizer.json`` and ``labels.json`` (torch-free)."""

from __future__ import annotations

import json
from pathlib import Path

from medlens.errors import Errors, ModelError

META_FILE = "labels.json"
TOKENIZER_FILE = "tokenizer.json"


def load_tokenizer(path: str | Path):
    """A ``tokenizers.Tokenizer`` from ``tokenizer.json`` (a file or a folder holding it), without truncation or padding."""
    from tokenizers import Tokenizer

    p = Path(path)
    if p.is_dir():
        p = p / TOKENIZER_FILE
    if not p.is_file():
        raise ModelError(Errors.E300.format(path=p, details="no tokenizer.json"))
    tok = Tokenizer.from_file(str(p))
    tok.no_truncation()
    tok.no_padding()
    return tok


def special_ids(tokenizer) -> tuple[int, int, int]:
    """(cls, sep, pad) ids of a WordPiece tokenizer."""
    ids = [tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
    if any(i is None for i in ids):
        raise ModelError(Errors.E301.format(path="tokenizer", details="it has no [CLS]/[SEP]/[PAD] tokens"))
    return ids[0], ids[1], ids[2]


def read_meta(folder: str | Path) -> dict:
    """``labels.json`` of a model folder."""
    p = Path(folder) / META_FILE
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(Errors.E301.format(path=folder, details=f"cannot read {META_FILE}: {exc}")) from exc
    if not isinstance(meta.get("labels"), list) or meta["labels"][:1] != ["O"]:
        raise ModelError(Errors.E301.format(path=folder, details=f"{META_FILE} needs 'labels' starting with 'O'"))
    return meta
