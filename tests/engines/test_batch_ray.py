"""The batch job on a real two-node Ray cluster started on this machine (a head and a second node, one CPU
each): a job across both nodes, and exactly-once output after real kill -9 of a worker, of a node and of
the driver. Not ``slow``: CI runs these (the ray extra is part of ``make test``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engines.conftest import ids_of, make_docs, write_corpus
from tests.engines.ray_cluster import ROOT, LocalCluster, kill_group, node_env

pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install -e '.[ray]' (make test installs it)")


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster()
    yield c
    c.stop()


def _cmd(src: Path, out: Path, kg: Path, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "medlens.cli.app", "batch", str(src), "-o", str(out), "--kg", str(kg), "--no-model",
            "--engine", "ray", "--address", address, "-j", "2", "--shard-size", "4", "--json", *extra]


def _run(cmd: list[str], timeout: float = 300) -> dict:
    done = subprocess.run(cmd, cwd=ROOT, env=node_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _start(cmd: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=node_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_parts(out: Path, n: int, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while len(list(out.glob("part-*"))) < n:
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no partitions written in time"
        time.sleep(0.05)


def _finish(proc: subprocess.Popen, timeout: float = 300) -> dict:
    stdout, stderr = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, stderr.decode()[-3000:]
    return json.loads(stdout)


def test_a_job_runs_across_both_nodes(cluster, tmp_path, tiny_kg_path):
    docs = make_docs(60)
    src = write_corpus(tmp_path, docs, "csv")
    report = _run(_cmd(src, tmp_path / "out", tiny_kg_path, cluster.address, "--text-column", "body",
                       "--id-column", "note_id"))
    assert report["engine"] == "ray" and report["processed"] == 60 and report["failed"] == 0
    nodes = {w.split()[1] for w in report["workers"]}
    assert len(nodes) == 2, report["workers"]  # one actor on each node
    assert ids_of(tmp_path / "out") == [d["id"] for d in docs]


def test_kill_9_of_a_worker_mid_job_loses_nothing(cluster, tmp_path, tiny_kg_path):
    docs = make_docs(400)
    src = write_corpus(tmp_path, docs, "jsonl")
    out = tmp_path / "out"
    proc = _start(_cmd(src, out, tiny_kg_path, cluster.address))
    _wait_parts(out, 4, proc)
    pids = cluster.worker_pids()
    assert pids, "no ShardWorker process found"
    os.kill(pids[0], signal.SIGKILL)
    report = _finish(proc)
    assert report["retried"] >= 1 and report["processed"] == 400
    assert ids_of(out) == [d["id"] for d in docs]


def test_kill_9_of_the_driver_then_resume_gives_each_document_once(cluster, tmp_path, tiny_kg_path):
    docs = make_docs(400)
    src = write_corpus(tmp_path, docs, "jsonl")
    out = tmp_path / "out"
    proc = _start(_cmd(src, out, tiny_kg_path, cluster.address))
    _wait_parts(out, 4, proc)
    kill_group(proc)
    written = len(list(out.glob("part-*.parquet")))
    assert written < 100 and not (out / "_SUCCESS.json").exists()
    report = _run(_cmd(src, out, tiny_kg_path, cluster.address, "--resume"))
    assert report["skipped_documents"] >= 16 and report["processed"] + report["skipped_documents"] == 400
    assert ids_of(out) == [d["id"] for d in docs]
    assert not list(out.glob(".part-*"))


def test_kill_9_of_a_node_mid_job_the_job_finishes_on_the_other(cluster, tmp_path, tiny_kg_path):
    docs = make_docs(400)
    src = write_corpus(tmp_path, docs, "jsonl")
    out = tmp_path / "out"
    try:
        proc = _start(_cmd(src, out, tiny_kg_path, cluster.address))
        _wait_parts(out, 4, proc)
        cluster.kill_node()
        report = _finish(proc)
        assert report["processed"] == 400
        assert ids_of(out) == [d["id"] for d in docs]
    finally:
        cluster.start_node()


def test_without_an_address_a_ray_runtime_is_started_for_the_job(tmp_path, tiny_kg_path):
    docs = make_docs(12)
    src = write_corpus(tmp_path, docs, "folder")
    env = {k: v for k, v in node_env().items() if k != "RAY_ADDRESS"}
    cmd = [sys.executable, "-m", "medlens.cli.app", "batch", str(src), "-o", str(tmp_path / "out"), "--kg",
           str(tiny_kg_path), "--no-model", "--engine", "ray", "-j", "1", "--shard-size", "5", "--object-store-mb", "100",
           "--json"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert report["engine"] == "ray" and report["processed"] == 12 and len(report["workers"]) == 1
    assert [i.removesuffix(".txt") for i in ids_of(tmp_path / "out")] == [d["id"] for d in docs]
