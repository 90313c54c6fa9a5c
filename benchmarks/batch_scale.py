"""`medlens batch` at scale: documents/s and words/s of the local engine and of Ray, memory per worker,
memory against input size, and the time to resume after a kill -9.

Data: ../shared/data/mtsamples/notes.csv (1,193 real transcribed notes), repeated to --docs documents
(ids ``<note_id>#<copy>``) in a Parquet file. Every run is the real command (`python -m medlens.cli.app
batch ... --json`) in a subprocess; memory is the peak resident set (VmHWM) of the driver and of each
worker process, read from /proc while the run goes.

Configurations:
  local-1, local-2      the local engine with 1 and 2 worker processes (-j)
  ray-1, ray-2          Ray with 1 and 2 actors on one node (a Ray runtime started for the job, 2 CPUs)
  ray-2nodes            Ray with 2 actors across two nodes on this one host (a head and a second node of
                        1 CPU each, started by this script): NOT more cores than ray-2, only the multi-node path
  resume                local-2: kill -9 of the driver after a quarter of the shards, then --resume; the time
                        until the resumed run writes its first partition, and the exactly-once check

    python benchmarks/batch_scale.py --docs 20000 --configs local-1,local-2,ray-1,ray-2,ray-2nodes,resume
    python benchmarks/batch_scale.py --docs 2386 --model     # the shipped models (much slower)

Prints one JSON object per configuration and a Markdown table (for benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOTES = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"


def make_corpus(n: int, out: Path) -> tuple[Path, int]:
    """``n`` documents: the mtsamples notes repeated; returns the Parquet file and its word count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv.field_size_limit(2**31 - 1)
    with NOTES.open(encoding="utf-8", newline="") as fh:
        notes = [(r["note_id"], r["transcription"]) for r in csv.DictReader(fh) if r["transcription"].strip()]
    ids, texts = [], []
    for i in range(n):
        nid, text = notes[i % len(notes)]
        ids.append(f"{nid}#{i // len(notes)}")
        texts.append(text)
    path = out / f"mtsamples-{n}.parquet"
    pq.write_table(pa.table({"id": ids, "text": texts}), path, row_group_size=4096)
    return path, sum(len(t.split()) for t in texts)


class MemoryWatch:
    """Peak RSS (VmHWM, MB) and CPU seconds (user + system) of the driver, of each worker process and of the
    driver's other descendants (a Ray runtime started for the job: GCS, raylet, ...), sampled from /proc every
    0.5 s (a process's last half second before it exits can be missed)."""

    def __init__(self, driver_pid: int, worker_title: str) -> None:
        self.driver = driver_pid
        self.title = worker_title.encode()
        self.peaks: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self._tick = os.sysconf("SC_CLK_TCK")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self, pid: int) -> None:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(line.split()[1]) / 1024)
            st = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            self.cpu[pid] = (int(st[11]) + int(st[12])) / self._tick
        except (OSError, ValueError, IndexError):
            pass

    def _scan(self) -> None:
        parents: dict[int, int] = {}
        cmds: dict[int, bytes] = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                pid = int(d.name)
                try:
                    cmds[pid] = (d / "cmdline").read_bytes()
                    parents[pid] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
        for pid, cmd in cmds.items():
            if pid == self.driver:
                self.kind[pid] = "driver"
            elif cmd.startswith(self.title) or (b"spawn_main" in cmd and parents.get(pid) == self.driver):
                self.kind[pid] = "worker"
            else:
                p, hops = parents.get(pid), 0
                while p and p > 1 and hops < 8:
                    if p == self.driver:
                        self.kind.setdefault(pid, "other")
                        break
                    p, hops = parents.get(p), hops + 1
        for pid in list(self.kind):
            self._sample(pid)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._scan()
            time.sleep(0.5)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        workers = [pid for pid, k in self.kind.items() if k == "worker"]
        cpu = {k: round(sum(v for pid, v in self.cpu.items() if self.kind.get(pid) == k), 1)
               for k in ("driver", "worker", "other")}
        return {"driver_peak_mb": round(self.peaks.get(self.driver, 0.0), 1),
                "worker_peak_mb": sorted(round(self.peaks.get(p, 0.0), 1) for p in workers),
                "cpu_s": cpu}


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def batch(src: Path, out: Path, kg: str, workers: int, engine: str, model: bool, address: str | None = None,
          env: dict | None = None, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "medlens.cli.app", "batch", str(src), "-o", str(out), "--kg", kg, "-j", str(workers),
           "--engine", engine, "--shard-size", "64", "--json", "--model" if model else "--no-model", *extra]
    if address:
        cmd += ["--address", address]
    return subprocess.Popen(cmd, cwd=ROOT, env=env or os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def run_one(name: str, src: Path, words: int, tmp: Path, kg: str, model: bool, cluster=None) -> dict:
    engine = "ray" if name.startswith("ray") else "local"
    workers = 1 if name.endswith("-1") else 2
    out = tmp / f"out-{name}"
    env = os.environ.copy()
    address = None
    if cluster is not None:
        from tests.engines.ray_cluster import node_env

        env, address = node_env(), cluster.address
    t0 = time.perf_counter()
    proc = batch(src, out, kg, workers, engine, model, address, env)
    watch = MemoryWatch(proc.pid, "ray::ShardWorker")
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    mem = watch.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {stderr.decode()[-2000:]}")
    rep = json.loads(stdout)
    return {"config": name, "documents": rep["processed"], "failed": rep["failed"], "words": rep["words"],
            "wall_s": round(wall, 1), "startup_s": rep["startup_seconds"], "docs_per_s": rep["steady_docs_per_second"],
            "words_per_s": rep["words_per_second"], "docs_per_s_with_startup": round(rep["processed"] / wall, 2),
            "workers": len(rep["workers"]), **mem,
            "cpu_ms_per_doc": round(1000 * sum(mem["cpu_s"].values()) / max(1, rep["processed"]), 1),
            "worker_cpu_ms_per_doc": round(1000 * mem["cpu_s"]["worker"] / max(1, rep["processed"]), 1)}


def run_resume(src: Path, n: int, tmp: Path, kg: str, model: bool) -> dict:
    from medlens.engines.job import read_partitions

    out = tmp / "out-resume"
    shards = (n + 63) // 64
    proc = batch(src, out, kg, 2, "local", model)
    while len(list(out.glob("part-*"))) < max(1, shards // 4):
        if proc.poll() is not None:
            raise SystemExit("the job ended before the kill: " + proc.stderr.read().decode()[-2000:])
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list(out.glob("part-*")))
    t0 = time.perf_counter()
    proc = batch(src, out, kg, 2, "local", model, extra=("--resume",))
    first = None
    while proc.poll() is None:
        if first is None and len(list(out.glob("part-*"))) > before:
            first = time.perf_counter() - t0
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit("resume failed: " + stderr.decode()[-2000:])
    rep = json.loads(stdout)
    ids = [r.id for r in read_partitions(out)]
    return {"config": "resume", "partitions_before_kill": before, "shards": shards,
            "resume_to_first_new_partition_s": round(first or 0.0, 2), "resume_startup_s": rep["startup_seconds"],
            "resumed_run_wall_s": round(time.perf_counter() - t0, 1), "documents_once": len(ids) == len(set(ids)) == n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--configs", default="local-1,local-2,ray-1,ray-2,ray-2nodes,resume")
    ap.add_argument("--model", action="store_true", help="run the shipped models (default: --no-model)")
    ap.add_argument("--kg", default=os.environ.get("MEDLENS_KG", ""))
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args()
    if not NOTES.is_file():
        raise SystemExit(f"{NOTES} not found: the benchmark needs ../shared/data/mtsamples")
    if not args.kg:
        from medlens.kg.store import default_graph_path

        args.kg = str(default_graph_path())
    tmp = Path(tempfile.mkdtemp(prefix="medlens-scale-"))
    src, words = make_corpus(args.docs, tmp)
    rows = []
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in configs:
        if name == "resume":
            row = run_resume(src, args.docs, tmp, args.kg, args.model)
        elif name == "ray-2nodes":
            from tests.engines.ray_cluster import LocalCluster

            cluster = LocalCluster()
            try:
                row = run_one(name, src, words, tmp, args.kg, args.model, cluster)
            finally:
                cluster.stop()
        else:
            row = run_one(name, src, words, tmp, args.kg, args.model)
        row["input_docs"] = args.docs
        print(json.dumps(row), flush=True)
        rows.append(row)
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=2))
    print("\n| config | docs | docs/s | words/s | start-up s | wall s | CPU ms/doc (workers) | driver peak MB | worker peak MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r["config"] != "resume":
            print(f"| {r['config']} | {r['documents']:,} | {r['docs_per_s']:.1f} | {r['words_per_s']:,.0f} | "
                  f"{r['startup_s']:.1f} | {r['wall_s']:.0f} | {r['cpu_ms_per_doc']:.0f} ({r['worker_cpu_ms_per_doc']:.0f}) | "
                  f"{r['driver_peak_mb']:.0f} | "
                  f"{', '.join(f'{v:.0f}' for v in r['worker_peak_mb'])} |")


if __name__ == "__main__":
    main()
