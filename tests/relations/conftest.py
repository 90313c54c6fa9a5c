"""Fixtures for the relation tests: a tiny PubTator file and a random-weight relation model (hidden 32, 2 layers).

The PubTator file is generated here from :data:`TINY_DOCS`: three invented documents (ids 1001-1003, sentences no
corpus holds) with real MeSH ids, a composite mention and an unlinked one (``-1``); the offsets are computed from the
text. The project carries no PubTator data: real CDR text is read from ../shared/data by the slow tests only."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from pathlib import Path

import pytest

# (id, title, abstract, mentions in order of position: (text, type, ids[, composite parts]), CID pairs)
TINY_DOCS = [
    ("1001", "Cisplatin induced renal failure.",
     "Two of 40 patients given cisplatin for ovarian cancer developed renal failure and hearing loss; magnesium did "
     "not prevent it.",
     [("Cisplatin", "Chemical", "D002945"), ("renal failure", "Disease", "D051437"),
      ("cisplatin", "Chemical", "D002945"), ("ovarian cancer", "Disease", "D010051"),
      ("renal failure", "Disease", "D051437"), ("hearing loss", "Disease", "D034381"),
      ("magnesium", "Chemical", "D008274")],
     [("D002945", "D051437"), ("D002945", "D034381")]),
    ("1002", "Tamoxifen and endometrial cancer.",
     "Women with breast and ovarian cancer treated with tamoxifen had more endometrial cancer; one had a rash of "
     "unknown cause.",
     [("Tamoxifen", "Chemical", "D013629"), ("endometrial cancer", "Disease", "D016889"),
      ("breast and ovarian cancer", "Disease", "D001943|D010051", "breast cancer|ovarian cancer"),
      ("tamoxifen", "Chemical", "D013629"), ("endometrial cancer", "Disease", "D016889"),
      ("rash", "Disease", "-1")],
     [("D013629", "D016889")]),
    ("1003", "Naloxone and the patients with heart failure.",
     "Naloxone was given to patients with heart failure.",
     [("Naloxone", "Chemical", "D009270"), ("heart failure", "Disease", "D006333"),
      ("Naloxone", "Chemical", "D009270"), ("heart failure", "Disease", "D006333")],
     []),
]


def pubtator_text(docs=TINY_DOCS) -> str:
    """``docs`` in the PubTator format (offsets into title + " " + abstract, found in order of position)."""
    out = []
    for pmid, title, abstract, mentions, cids in docs:
        text, pos = f"{title} {abstract}", 0
        out += [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
        for words, kind, ids, *parts in mentions:
            start = text.index(words, pos)
            pos = start + len(words)
            out.append("\t".join([pmid, str(start), str(pos), words, kind, ids, *parts]))
        out += [f"{pmid}\tCID\t{chem}\t{dis}" for chem, dis in cids]
        out.append("")
    return "\n".join(out) + "\n"


_PUBTATOR_DIR = Path(tempfile.mkdtemp(prefix="medlens-tiny-pubtator-"))
atexit.register(shutil.rmtree, _PUBTATOR_DIR, ignore_errors=True)  # a plain path the test modules import, removed at exit
PUBTATOR = _PUBTATOR_DIR / "tiny.PubTator.txt"
PUBTATOR.write_text(pubtator_text(), encoding="utf-8")
WORDS = ["cisplatin", "induced", "renal", "failure", "patients", "given", "for", "ovarian", "cancer", "developed",
         "and", "hearing", "loss", "magnesium", "did", "not", "prevent", "it", "tamoxifen", "endometrial", "women",
         "with", "breast", "treated", "had", "more", "one", "a", "rash", "of", "unknown", "cause", "naloxone", "the",
         "heart", "was", "to", "two", "40", "."]


def write_tiny_encoder(folder: Path, seed: int = 0) -> Path:
    """A random-weight BertModel folder with a tiny WordPiece tokenizer (a base model for training)."""
    import torch
    from transformers import BertConfig, BertModel

    from tests.training.conftest import write_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    write_tokenizer(folder, WORDS)
    n_vocab = len((folder / "vocab.txt").read_text(encoding="utf-8").split())
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=n_vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertModel(config, add_pooling_layer=False).save_pretrained(str(folder))
    return folder


def write_tiny_relation_model(folder: Path, *, max_length: int = 48, stride: int = 16, threshold: float = 0.5,
                              seed: int = 0) -> Path:
    """A random-weight relation model folder, as `medlens train relations` writes it."""
    import torch
    from medlens.relations.encoding import FEATURES
    from medlens.training.relations import (
        INPUT_NAMES,
        RELATION_TASK,
        build_net,
        save_relation_model,
    )
    from transformers import BertModel

    from medlens.tagging.files import load_tokenizer

    base = write_tiny_encoder(folder.with_name(folder.name + "-base"), seed)
    torch.manual_seed(seed)
    net = build_net(BertModel.from_pretrained(str(base), add_pooling_layer=False))
    with torch.no_grad():  # a random head gives nearly equal logits; spread them so decisions differ
        for p in net.classifier.parameters():
            p.mul_(3.0)
    meta = {"task": RELATION_TASK, "relation": "CID", "predicate": "induces", "head_kind": "chemical",
            "tail_kind": "disease", "marker": "*", "max_length": max_length, "stride": stride,
            "features": list(FEATURES), "inputs": list(INPUT_NAMES), "threshold": threshold}
    save_relation_model(net, load_tokenizer(base), meta, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_relation_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_relation_model(tmp_path_factory.mktemp("tiny_rel") / "model")


@pytest.fixture(scope="session")
def tiny_relation_onnx(tiny_relation_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnxruntime")
    from medlens.training.relations import export_relations

    out = tmp_path_factory.mktemp("tiny_rel_onnx")
    export_relations(tiny_relation_dir, out)
    return out


@pytest.fixture(scope="session")
def tiny_base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return write_tiny_encoder(tmp_path_factory.mktemp("tiny_rel_base") / "base")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
