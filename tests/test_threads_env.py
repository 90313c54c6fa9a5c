"""Model threads: $MEDLENS_THREADS, and batch workers taking their share of the cores."""

from __future__ import annotations

import pytest

from medlens.runtime import THREADS_ENV, available_cores, default_threads
from medlens.errors import ConfigError


def test_default_threads_reads_the_environment(monkeypatch) -> None:
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert default_threads() == available_cores() >= 1
    monkeypatch.setenv(THREADS_ENV, "3")
    assert default_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "0")
    assert default_threads() == 1
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ConfigError, match=THREADS_ENV):
        default_threads()


def test_batch_worker_sets_its_share_unless_the_user_did(monkeypatch) -> None:
    import medlens.batch as batch

    class Task:
        max_chars = 10

        def build(self):
            return default_threads()

    monkeypatch.delenv(THREADS_ENV, raising=False)
    batch._init_worker(Task(), 2)
    assert batch._WORKER[0] == 2
    monkeypatch.setenv(THREADS_ENV, "5")  # the user's setting wins
    batch._init_worker(Task(), 1)
    assert batch._WORKER[0] == 5
    monkeypatch.setattr(batch, "_WORKER", None)


def test_onnx_session_uses_default_threads(monkeypatch, tmp_path) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    from medlens.tagging.files import onnx_session

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    monkeypatch.setenv(THREADS_ENV, "1")
    session = onnx_session(path)
    assert session.get_session_options().intra_op_num_threads == 1


def test_worker_threads_share_the_cores(monkeypatch) -> None:
    import medlens.runtime as runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 8)
    assert [runtime.worker_threads(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
