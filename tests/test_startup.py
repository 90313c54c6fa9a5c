"""Cold-start measures: sessions prefetched in threads, thinc kept from importing torch, one tokenizer build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medlens.errors import ModelError
from medlens.runtime import NER_DIR
from medlens.tagging import files


@pytest.fixture()
def model_file() -> Path:
    path = files.model_file_in(NER_DIR)
    if path is None:
        pytest.skip("this installation ships no NER model")
    return path


def test_a_prefetched_session_is_taken_once(model_file: Path):
    files.prefetch_onnx_session(model_file, 1)
    files.prefetch_onnx_session(model_file, 1)  # a second prefetch of the same session is a no-op
    assert len(files._PREFETCHED) == 1
    session = files.onnx_session(model_file, 1)
    assert files._PREFETCHED == {}
    assert {i.name for i in session.get_inputs()} >= {"input_ids", "attention_mask"}
    assert files.onnx_session(model_file, 1) is not session  # not prefetched: made anew


def test_a_prefetch_error_is_raised_by_onnx_session(tmp_path: Path):
    bad = tmp_path / "model.int8.onnx"
    bad.write_bytes(b"not an onnx model")
    files.prefetch_onnx_session(bad, 1)
    with pytest.raises(ModelError, match="model.int8.onnx"):
        files.onnx_session(bad, 1)


def test_unused_prefetches_are_discarded(model_file: Path):
    files.prefetch_onnx_session(model_file, 2)
    files.discard_prefetched()
    assert files._PREFETCHED == {}


def test_the_pipeline_tokenizer_is_english_with_split_joined_lines(nlp):
    import spacy

    from medlens.pipeline import CLINICAL_TOKENIZER, split_joined_lines

    assert nlp.config["nlp"]["tokenizer"]["@tokenizers"] == CLINICAL_TOKENIZER
    reference = spacy.blank("en")
    split_joined_lines(reference)
    for text in ("access.,POSTOPERATIVE DIAGNOSIS:,1.  Need for ...", "Don't give 5mg/kg q.i.d. (see http://x.org)!",
                 "U.S. pt, 3x/day; BP 120/80 mmHg.\n\n- Lisinopril 10 mg"):
        assert [(t.text, t.whitespace_) for t in nlp.make_doc(text)] == \
               [(t.text, t.whitespace_) for t in reference.make_doc(text)]


def _torch_seen_by_thinc(env_extra: dict[str, str]) -> str:
    code = "import medlens, spacy, sys, thinc.compat; print(thinc.compat.has_torch, 'torch' in sys.modules)"
    env = {**os.environ, **env_extra, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                          timeout=120).stdout.strip()


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_thinc_does_not_import_torch_unless_asked():
    assert _torch_seen_by_thinc({"MEDLENS_THINC_TORCH": ""}) == "False False"
    assert _torch_seen_by_thinc({"MEDLENS_THINC_TORCH": "1"}) == "True True"
