"""The batch job on the local engine: every input format, Parquet with nested columns, per-document errors,
worker crashes, and exactly-once output after a real kill -9 of the driver and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engines.conftest import COLUMNS, ids_of, make_docs, write_corpus

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", ["folder", "jsonl", "csv", "parquet", "sql"])
def test_every_input_format_gives_one_row_per_document(tmp_path, rules_task, kind):
    import pyarrow.parquet as pq

    from medlens.engines import LocalEngine, make_source, run_job

    docs = make_docs(23)
    src = write_corpus(tmp_path, docs, kind)
    spec = make_source(str(src), **COLUMNS[kind])
    assert spec.kind == kind
    report = run_job(spec, rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=5)
    assert (report.documents, report.shards, report.processed, report.failed) == (23, 5, 23, 0)
    parts = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-{i:06d}.parquet" for i in range(5)]
    table = pq.read_table(tmp_path / "out")  # the folder is a Parquet dataset
    assert table.num_rows == 23
    ids = [i.removesuffix(".txt") for i in table.column("id").to_pylist()]
    assert ids == [d["id"] for d in docs]  # input order (SQL: ordered by the id column)
    assert json.loads((tmp_path / "out" / "_SUCCESS.json").read_text())["processed"] == 23
    # nested columns: entities with their assertion and concept links
    ents = table.column("entities").to_pylist()[0]
    chest = [e for e in ents if e["text"] == "chest pain"]
    assert chest and chest[0]["assertion"]["negated"] is True and chest[0]["concepts"][0]["id"] == "T:S001"


def test_parquet_round_trip_gives_the_same_results(tmp_path, rules_nlp):
    import pyarrow.parquet as pq

    from medlens.engines.tables import from_table, schema_of, to_table
    from medlens.results import (
        CategoryResult,
        DocumentResult,
        DrugAttributeResult,
        RelationResult,
    )

    texts = ["Patient denies chest pain. Mother had hypertension.", "Started metformin 500 mg twice daily."]
    results = [DocumentResult.from_doc(rules_nlp(t), doc_id=f"r{i}", include_text=True) for i, t in enumerate(texts)]
    # the parts the rules-only pipeline leaves empty, filled in
    rich = results[1].model_copy(update={
        "categories": [CategoryResult(label="cardio", score=0.7, predicted=True)],
        "relations": [RelationResult(head_id="A", tail_id="B", head="a", head_start=0, head_end=1, tail="b",
                                     tail_start=2, tail_end=3, predicate="induces", score=0.5,
                                     evidence=[(0, 10)], method="pattern:x")],
        "entities": [e.model_copy(update={"attributes": {"dose": DrugAttributeResult(
            text="500 mg", start=18, end=24, value="500 mg", details={"amount": 500.0, "unit": "mg", "prn": False})}})
            for e in results[1].entities] or results[1].entities,
    })
    failed = DocumentResult.failed("bad", "InputError", "no text")
    rows = [results[0], rich, failed]
    pq.write_table(to_table(rows, DocumentResult), tmp_path / "r.parquet")
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema.metadata[b"medlens.schema"] == b"DocumentResult"
    assert table.schema.equals(schema_of(DocumentResult), check_metadata=False)
    back = from_table(table, DocumentResult)
    assert [b.model_dump() for b in back] == [r.model_dump() for r in rows]


def test_bad_input_unknown_column_and_unreadable_parquet(tmp_path):
    from medlens.engines import make_source
    from medlens.errors import InputError

    src = write_corpus(tmp_path, make_docs(3), "csv")
    with pytest.raises(InputError, match=r"E901|no column 'text'.*--text-column.*note_id, body"):
        make_source(str(src))
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        make_source(str(bad), text_column="body")
    with pytest.raises(InputError, match="--query"):
        make_source(str(write_corpus(tmp_path, make_docs(3), "sql")))


def test_bad_documents_are_error_rows_and_the_job_completes(tmp_path, rules_task):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from medlens.engines import LocalEngine, make_source, read_partitions, run_job

    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist([{"id": "a", "text": "Denies chest pain."}, {"id": "b", "text": ""},
                                         {"id": "c", "text": None}]), folder / "1.parquet")
    (folder / "2.parquet").write_bytes(b"garbage")
    pq.write_table(pa.Table.from_pylist([{"id": "z", "other": "x"}]), folder / "3.parquet")
    report = run_job(make_source(str(folder)), rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=2)
    results = {r.id: r for r in read_partitions(tmp_path / "out")}
    assert report.processed == 5 and report.failed == 4
    assert results["a"].error is None and results["a"].entities
    assert "no text" in results["b"].error.message and "no text" in results["c"].error.message
    assert "cannot be read as Parquet" in results["2.parquet"].error.message
    assert "no column 'text'" in results["3.parquet"].error.message


def test_existing_job_needs_resume_and_the_same_settings(tmp_path, rules_task):
    from medlens.engines import LocalEngine, make_source, run_job
    from medlens.errors import ConfigError

    spec = make_source(str(write_corpus(tmp_path, make_docs(6), "jsonl")))
    run_job(spec, rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=4)
    with pytest.raises(ConfigError, match="--resume"):
        run_job(spec, rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=4)
    with pytest.raises(ConfigError, match="shard_size"):
        run_job(spec, rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=3, resume=True)
    again = run_job(spec, rules_task, tmp_path / "out", engine=LocalEngine(1), shard_size=4, resume=True)
    assert (again.processed, again.skipped_documents) == (0, 6)


def test_a_document_that_kills_its_worker_becomes_an_error_row(tmp_path, tiny_kg_path):
    from medlens.config import RULES_ONLY, make_config
    from medlens.engines import LocalEngine, make_source, read_partitions, run_job
    from tests.engines.crashy import CrashingTask

    docs = make_docs(8)
    docs[5]["text"] = "KILLME please"
    spec = make_source(str(write_corpus(tmp_path, docs, "jsonl")))
    task = CrashingTask(config=make_config(kg_path=str(tiny_kg_path), components=RULES_ONLY))
    report = run_job(spec, task, tmp_path / "out", engine=LocalEngine(2), shard_size=3)
    results = list(read_partitions(tmp_path / "out"))
    assert [r.id for r in results] == [d["id"] for d in docs]
    bad = [r for r in results if r.error is not None]
    assert [r.id for r in bad] == ["d0005"] and bad[0].error.type == "WorkerCrash"
    assert "worker process died" in bad[0].error.message
    assert report.retried >= 2 and report.failed == 1


def _batch_cmd(src: Path, out: Path, kg: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "medlens.cli.app", "batch", str(src), "-o", str(out), "--kg", str(kg), "--no-model",
            "--shard-size", "4", *extra]


def test_kill_9_of_the_driver_then_resume_gives_each_document_once(tmp_path, tiny_kg_path):
    docs = make_docs(240)
    src = write_corpus(tmp_path, docs, "jsonl")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MEDLENS_THREADS": "1"}
    proc = subprocess.Popen(_batch_cmd(src, out, tiny_kg_path, "-j", "2"), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*.parquet"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes, mid-job
    proc.wait()
    written = len(list(out.glob("part-*.parquet")))
    assert 3 <= written < 60 and not (out / "_SUCCESS.json").exists()
    done = subprocess.run(_batch_cmd(src, out, tiny_kg_path, "-j", "2", "--resume", "--json"), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["skipped_documents"] >= 12 and report["processed"] + report["skipped_documents"] == 240
    assert ids_of(out) == [d["id"] for d in docs]  # each once, in order: no duplicate, no gap
    assert not list(out.glob(".part-*"))  # no temporary file left behind


def test_cli_batch_writes_jsonl_partitions_and_reports_failures(tmp_path, tiny_kg_path):
    from typer.testing import CliRunner

    from medlens.cli.app import app

    docs = make_docs(5)
    src = write_corpus(tmp_path, docs, "jsonl")
    with src.open("a") as fh:
        fh.write('{"id": "broken", "txt": "no text key"}\n')
    res = CliRunner().invoke(app, ["batch", str(src), "-o", str(tmp_path / "out"), "--kg", str(tiny_kg_path),
                                   "--no-model", "-f", "jsonl", "-j", "1"])
    assert res.exit_code == 0, res.output
    assert "no 'text' key" in res.output and "6 documents" in res.output
    lines = [json.loads(x) for p in sorted((tmp_path / "out").glob("part-*.jsonl")) for x in p.read_text().splitlines()]
    assert [x["id"] for x in lines] == [d["id"] for d in docs] + ["broken"]
    res = CliRunner().invoke(app, ["batch", str(src), "-o", str(tmp_path / "out"), "--kg", str(tiny_kg_path)])
    assert res.exit_code != 0 and "--resume" in res.output


def test_deid_batch_writes_text_and_mapping(tmp_path, tiny_kg_path):
    from medlens.deid.batch import DeidJob
    from medlens.engines import LocalEngine, make_source, read_partitions, run_job

    src = write_corpus(tmp_path, [{"id": "p1", "text": "Seen by Dr. John Smith on 03/14/2021 for chest pain."}], "jsonl")
    job = DeidJob(kg_path=str(tiny_kg_path), model="none")
    run_job(make_source(str(src)), job, tmp_path / "out", engine=LocalEngine(1))
    (r,) = list(read_partitions(tmp_path / "out"))
    assert "Smith" not in r.text and "03/14/2021" not in r.text and "chest pain" in r.text
    assert {x.type for x in r.replacements} >= {"NAME", "DATE"}
    for x in r.replacements:
        assert r.text[x.new_start:x.new_end].startswith("[")


def test_grow_task_adds_each_document_once_to_the_grown_layer(tmp_path, tiny_kg_path):
    import shutil

    from typer.testing import CliRunner

    from medlens.cli.app import app
    from medlens.kg.grown import GrownLayer, grown_path

    kg = tmp_path / "kg.sqlite"
    shutil.copy(tiny_kg_path, kg)  # the layer is written beside the graph: not beside the shared fixture
    docs = make_docs(9)
    src = write_corpus(tmp_path, docs, "jsonl")
    args = ["batch", str(src), "-o", str(tmp_path / "out"), "--task", "grow", "--kg", str(kg), "--no-model", "-j", "1",
            "--shard-size", "4", "--json"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    grown = json.loads(res.stdout)["grown"]
    assert grown["added"] == 9 and grown["failed"] == 0
    with GrownLayer.open(grown_path(kg)) as layer:
        assert layer.document_count() == 9
    res = CliRunner().invoke(app, args + ["--resume"])  # the job is done; merging again adds nothing twice
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["grown"]["skipped"] == 9
    with GrownLayer.open(grown_path(kg)) as layer:
        assert layer.document_count() == 9


def test_sql_sources_order_by_the_id_column_and_explain_what_is_missing(tmp_path):
    import importlib.util

    from medlens.engines import make_source
    from medlens.engines.sources import count, iter_documents
    from medlens.errors import InputError

    db = write_corpus(tmp_path, make_docs(5), "sql")  # rows inserted in reverse order
    spec = make_source(str(db), query="SELECT note_id, body FROM notes WHERE note_id <> 'd0002'",
                       text_column="body", id_column="note_id")
    assert count(spec) == 4
    assert [d.id for d in iter_documents(spec)] == ["d0000", "d0001", "d0003", "d0004"]
    with pytest.raises(InputError, match="no column 'text'"):
        make_source(str(db), query="SELECT note_id, body FROM notes", id_column="note_id")
    with pytest.raises(InputError, match="The query failed"):
        make_source(str(db), query="SELECT nope FROM nowhere")
    if importlib.util.find_spec("sqlalchemy") is None:
        with pytest.raises(InputError, match="SQLAlchemy"):
            make_source("postgresql://localhost/notes", query="SELECT id, text FROM notes")


def test_a_deid_job_resumes_only_with_the_same_key(tmp_path, tiny_kg_path):
    from medlens.deid.batch import DeidJob
    from medlens.deid.engine import make_options
    from medlens.engines import LocalEngine, make_source, run_job
    from medlens.errors import ConfigError

    spec = make_source(str(write_corpus(tmp_path, make_docs(3), "jsonl")))

    def job(key):
        return DeidJob(kg_path=str(tiny_kg_path), model="none", options=make_options(default_action="surrogate", key=key))

    run_job(spec, job("secret-1"), tmp_path / "out", engine=LocalEngine(1))
    assert "secret-1" not in (tmp_path / "out" / "_manifest.json").read_text()
    with pytest.raises(ConfigError, match="task_fingerprint"):
        run_job(spec, job("secret-2"), tmp_path / "out", engine=LocalEngine(1), resume=True)
    assert run_job(spec, job("secret-1"), tmp_path / "out", engine=LocalEngine(1), resume=True).skipped_documents == 3
