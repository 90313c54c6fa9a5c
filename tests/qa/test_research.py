"""Research questions: sentence splitting, pair encoding, answer_research with a tiny int8 cross-encoder, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from medlens.errors import InputError, ModelError
from medlens.qa.models import ResearchAnswer
from medlens.qa.pairs import encode_pairs, split_sentences

CONTEXT = ("Patients with breast cancer were treated with tamoxifen. No evidence of renal failure was seen in 40 "
           "patients (p = 0.03). Cisplatin induced renal failure in 2 of the patients, e.g. in the elderly.\n\n"
           "The disease was treated.")


def test_split_sentences_offsets_slice_the_text() -> None:
    spans = split_sentences(CONTEXT)
    texts = [CONTEXT[s:e] for s, e in spans]
    assert texts == ["Patients with breast cancer were treated with tamoxifen.",
                     "No evidence of renal failure was seen in 40 patients (p = 0.03).",
                     "Cisplatin induced renal failure in 2 of the patients, e.g. in the elderly.",
                     "The disease was treated."]
    assert split_sentences("   \n ") == []


def test_encode_pairs_keeps_question_and_the_end_of_a_long_context(tiny_qa_dir: Path) -> None:
    from medlens.tagging.files import load_tokenizer, special_ids

    tok = load_tokenizer(tiny_qa_dir)
    cls_id, sep_id, _ = special_ids(tok)
    long_context = "breast cancer " * 40 + "tamoxifen"
    [ids] = encode_pairs(["were patients treated?"], [long_context], tok, max_length=32, question_max=8)
    q = tok.encode("were patients treated?", add_special_tokens=False).ids[:8]
    assert len(ids) == 32 and ids[0] == cls_id and ids[-1] == sep_id
    assert ids[1:1 + len(q)] == q and ids[1 + len(q)] == sep_id
    assert ids[-2] == tok.token_to_id("tamoxifen")  # the tail of the context is kept


def test_answer_research_returns_a_valid_answer_with_evidence_offsets(tiny_qa_onnx: Path) -> None:
    from medlens.qa.research import answer_research

    ans = answer_research("Were patients treated with tamoxifen?", CONTEXT, model_dir=tiny_qa_onnx)
    assert isinstance(ans, ResearchAnswer)
    assert ans.label in ("yes", "no", "maybe")
    assert set(ans.probabilities) == {"yes", "no", "maybe"}
    assert abs(sum(ans.probabilities.values()) - 1.0) < 1e-4
    assert ans.label == max(ans.probabilities, key=ans.probabilities.get)
    for ev in ans.evidence:
        assert CONTEXT[ev.start:ev.end] == ev.text and 0 < ev.weight <= 1 and ev.doc_id is None
    weights = [ev.weight for ev in ans.evidence]
    assert weights == sorted(weights, reverse=True) and (not weights or weights[0] == 1.0)
    json.loads(ans.model_dump_json())  # serializable


def test_evidence_is_the_sentences_whose_removal_lowers_the_answer(tiny_qa_onnx: Path) -> None:
    """Recompute leave-one-sentence-out with the model directly: the evidence is exactly the sentences with a drop."""
    from medlens.qa.pairs import LABELS
    from medlens.qa.research import load_research_model, answer_research

    q = "Were patients treated with tamoxifen?"
    ans = answer_research(q, CONTEXT, model_dir=tiny_qa_onnx)
    model = load_research_model(tiny_qa_onnx)
    spans = split_sentences(CONTEXT)
    variants = [" ".join(CONTEXT[s:e] for j, (s, e) in enumerate(spans) if j != k) for k in range(len(spans))]
    probs = model.probabilities([q] * (len(spans) + 1), [" ".join(CONTEXT[s:e] for s, e in spans), *variants])
    col = LABELS.index(ans.label)
    drops = {spans[k]: probs[0, col] - probs[k + 1, col] for k in range(len(spans))}
    expected = sorted((sp for sp, d in drops.items() if d > 0), key=lambda sp: -drops[sp])[:3]
    assert [(ev.start, ev.end) for ev in ans.evidence] == expected


def test_answer_research_with_passages_gives_passage_offsets(tiny_qa_onnx: Path) -> None:
    from medlens.qa.research import answer_research

    passages = ["Patients with breast cancer were treated with tamoxifen.", "No evidence of renal failure. It was rare."]
    ans = answer_research("Were patients treated?", passages, model_dir=tiny_qa_onnx)
    for ev in ans.evidence:
        assert passages[int(ev.doc_id)][ev.start:ev.end] == ev.text


def test_model_is_loaded_once(tiny_qa_onnx: Path) -> None:
    from medlens.qa.research import load_research_model

    assert load_research_model(tiny_qa_onnx) is load_research_model(tiny_qa_onnx)


@pytest.mark.parametrize("question, context, message", [
    ("", CONTEXT, "research question is empty"),  # E340
    ("   ", CONTEXT, "research question is empty"),
    ("Is it?", "", "context is empty"),  # E342
    ("Is it?", ["", "  "], "context is empty"),
    ("x" * 1001, CONTEXT, "question is 1,001 characters long; the limit is 1,000"),  # E343
    ("Is it?", "word " * 5000, "context is 25,000 characters long; the limit is 20,000"),
    (None, CONTEXT, "The question must be a string, got NoneType"),  # E344
    ("Is it?", 42, "The context must be a string or a list of strings, got int"),
    ("Is it?", ["ok", 3], "Each context passage must be a string, got int"),
])
def test_bad_input_gives_clear_errors(tiny_qa_onnx: Path, question, context, message: str) -> None:
    from medlens.qa.research import answer_research

    with pytest.raises(InputError, match=message):
        answer_research(question, context, model_dir=tiny_qa_onnx)


def test_missing_or_wrong_model_folder(tmp_path: Path, tiny_qa_onnx: Path, tiny_classifier_onnx: Path) -> None:
    from medlens.qa.research import answer_research

    with pytest.raises(ModelError, match=r"No research-question model .*\(no such folder\)"):
        answer_research("Is it?", CONTEXT, model_dir=tmp_path / "nothing")
    with pytest.raises(ModelError, match="not a medlens research-question model"):  # a document classifier is not
        answer_research("Is it?", CONTEXT, model_dir=tiny_classifier_onnx)
    bad = tmp_path / "bad"
    shutil.copytree(tiny_qa_onnx, bad)
    (bad / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="no tokenizer.json"):
        answer_research("Is it?", CONTEXT, model_dir=bad)
