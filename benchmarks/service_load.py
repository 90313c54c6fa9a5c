"""Service under load: ``medlens serve`` with real notes at concurrency 1, 4 and 16, against the issue-17 target.

    .venv/bin/python benchmarks/service_load.py                        # 1, 4, 16 clients; 200 requests each
    .venv/bin/python benchmarks/service_load.py --requests 10000 --concurrency 16   # the memory-flat check
    .venv/bin/python benchmarks/service_load.py --requests 60 --no-readme           # a quick look

Data: ``../shared/data/mtsamples/notes.csv`` (real transcribed notes; a development set: nothing is
tuned on it, it only measures speed). The notes of 250-350 words are sent in file order, cycling.

What it does, in order:

1. single-process throughput: a separate Python process runs ``medlens.load()`` and ``nlp.pipe`` over
   the same notes (after a warm-up) and reports words/s: the figure the target is built from;
2. starts ``medlens serve`` itself (process backend, every core, a free port on 127.0.0.1) with the
   settings it is given (``--env KEY=VALUE``) and waits for ``/readyz``;
3. per concurrency level, ``--requests`` requests of ``POST /v1/analyze`` from asyncio httpx clients
   (one keep-alive connection each): requests/s, words/s, p50/p99 latency of the 200s, errors
   (anything but 200 and 503), 503s (queue full: the client waits for the Retry-After before its next
   request, as a polite client would) and 504s;
4. RSS of the server and its workers (Linux /proc) after the warm-up and at the end, sampled every
   ``--rss-every`` requests (1,000); growth after warm-up is the memory-flat check (< 5 %);
5. the issue's target for p99 at 16 clients: ``1.5 x 16 x mean note words / single-process words/s``
   (16 notes queued at once cannot be served faster than the cores read 16 notes).

The client shares the cores with the server (and, on a shared machine, with other jobs: the load
average is recorded), so figures are a lower bound. Results go to benchmarks/README.md, section
"Service under load (issue 17)", unless ``--no-readme``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = ROOT.parent / "shared" / "data" / "mtsamples" / "notes.csv"
sys.path.insert(0, str(BENCH))
from _report import markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Service under load (issue 17)"
API_KEY = "bench-key"


def read_notes(path: Path = DATA, low: int = 250, high: int = 350) -> list[str]:
    """The notes of ``low``-``high`` words, in file order."""
    if not path.is_file():
        sys.exit(f"{path} not found: this benchmark sends the MTSamples notes of ../shared/data (see its README).")
    csv.field_size_limit(10_000_000)
    with path.open(newline="", encoding="utf-8") as fh:
        texts = [row["transcription"].strip() for row in csv.DictReader(fh)]
    return [t for t in texts if low <= len(t.split()) <= high]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss_mib(pid: int) -> float:
    """RSS of a process and its descendants (Linux /proc), in MiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for tid in os.listdir(f"/proc/{p}/task"):
                todo += [int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def single_process(n_notes: int, kg: str | None) -> dict:
    """Words/s of ``nlp.pipe`` in a fresh process (run as ``--_single``)."""
    cmd = [sys.executable, __file__, "--_single", str(n_notes)] + (["--kg", kg] if kg else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _single_main(n_notes: int, kg: str | None) -> None:
    import medlens

    notes = read_notes()[:n_notes]
    nlp = medlens.load(kg_path=kg) if kg else medlens.load()
    list(nlp.pipe(notes[:8]))  # warm-up
    t0 = time.perf_counter()
    list(nlp.pipe(notes))
    wall = time.perf_counter() - t0
    words = sum(len(t.split()) for t in notes)
    by_batch = {}
    sample = notes[:32]
    sample_words = sum(len(t.split()) for t in sample)
    for size in (1, 4, 16):  # what micro-batching is worth: the same notes read in pipe calls of `size`
        t = time.perf_counter()
        for i in range(0, len(sample), size):
            list(nlp.pipe(sample[i:i + size]))
        by_batch[size] = sample_words / (time.perf_counter() - t)
    print(json.dumps({"notes": len(notes), "words": words, "seconds": wall, "words_per_s": words / wall,
                      "by_batch": by_batch}))


async def run_level(url: str, notes: list[str], concurrency: int, n_requests: int, deadline: float,
                    on_done) -> dict:
    ok_lat: list[float] = []
    counts = {"ok": 0, "errors": 0, "503": 0, "504": 0}
    retry_after: list[float] = []
    words = 0
    sent = 0
    bodies = [json.dumps({"text": t, "id": f"note-{i}"}).encode() for i, t in enumerate(notes)]
    n_words = [len(t.split()) for t in notes]
    headers = {"content-type": "application/json", "x-api-key": API_KEY}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, words
        while sent < n_requests and time.monotonic() < deadline:
            i = sent % len(bodies)
            sent += 1
            t0 = time.perf_counter()
            wait = 0.0
            try:
                r = await client.post(url + "/v1/analyze", content=bodies[i], headers=headers)
                status = r.status_code
                good = status == 200 and r.content.startswith(b'{"schema_version"')
            except httpx.HTTPError:
                status, good = 0, False
            elapsed = time.perf_counter() - t0
            if good:
                counts["ok"] += 1
                ok_lat.append(elapsed)
                words += n_words[i]
            elif status == 503:
                counts["503"] += 1
                wait = float(r.headers.get("retry-after", "1"))
                retry_after.append(wait)
            elif status == 504:
                counts["504"] += 1
            else:
                counts["errors"] += 1
            on_done()
            if wait:
                await asyncio.sleep(wait)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"concurrency": concurrency, "requests": sent, **counts, "seconds": wall,
            "rps": counts["ok"] / wall, "words_per_s": words / wall,
            "p50_ms": 1000 * statistics.median(ok_lat) if ok_lat else float("nan"),
            "p99_ms": 1000 * percentile(ok_lat, 99), "max_ms": 1000 * max(ok_lat, default=float("nan")),
            "retry_after_s": statistics.median(retry_after) if retry_after else None}


def start_server(args) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "medlens.cli.app", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--executor", args.executor, "--log-level", "warning"]
    if args.kg:
        cmd += ["--kg", args.kg]
    extra = dict(kv.split("=", 1) for kv in args.env)
    env = {**os.environ, "MEDLENS_API_KEYS": API_KEY, **extra}
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return server, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        if time.perf_counter() - t0 > 300:
            server.terminate()
            raise SystemExit("server not ready after 300 s")
        time.sleep(0.25)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return float("nan")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--_single":
        kg = sys.argv[sys.argv.index("--kg") + 1] if "--kg" in sys.argv else None
        _single_main(int(sys.argv[2]), kg)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", default="1,4,16", help="client counts, comma-separated")
    ap.add_argument("--requests", default="200", help="requests per level (one number, or one per level)")
    ap.add_argument("--warmup", type=int, default=None,
                    help="requests before measuring, not counted (default: one pass over the notes, so that every "
                         "word has been seen once: spaCy's string store and the caches have grown)")
    ap.add_argument("--workers", type=int, default=0, help="server analysis processes (0: every core)")
    ap.add_argument("--executor", default="process", choices=["process", "thread"])
    ap.add_argument("--kg", default=os.environ.get("MEDLENS_KG"), help="knowledge graph (default: $MEDLENS_KG)")
    ap.add_argument("--single-notes", type=int, default=64, help="notes for the single-process throughput")
    ap.add_argument("--single-words-per-s", type=float, default=None,
                    help="reuse a single-process words/s measured earlier instead of measuring it (A/B runs)")
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="server environment, e.g. MEDLENS_SERVE_MAX_QUEUE_DOCUMENTS=8 (repeatable)")
    ap.add_argument("--time-limit", type=float, default=3600, help="seconds for the whole run")
    ap.add_argument("--note", default="", help="a line recorded with the figures (e.g. what else ran)")
    ap.add_argument("--rss-every", type=int, default=1000, help="sample the server's memory every N requests")
    ap.add_argument("--section", default=HEADING, help=f"README section to write (default: {HEADING!r})")
    ap.add_argument("--no-readme", action="store_true", help="print results without writing the README")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    counts = [int(x) for x in args.requests.split(",")]
    counts = counts if len(counts) == len(levels) else [counts[0]] * len(levels)
    notes = read_notes()
    if args.warmup is None:
        args.warmup = len(notes)
    note_words = statistics.mean(len(t.split()) for t in notes)
    load_before = os.getloadavg()

    single = (single_process(args.single_notes, args.kg) if args.single_words_per_s is None else
              {"notes": 0, "words_per_s": args.single_words_per_s, "by_batch": {}, "given": True})
    print(f"single process: {single['words_per_s']:,.0f} words/s ({single['notes']} notes)", flush=True)
    target_ms = 1000 * 1.5 * 16 * note_words / single["words_per_s"]

    server, url, startup = start_server(args)
    try:
        ready = httpx.get(url + "/readyz").json()
        info = httpx.get(url + "/v1/info", headers={"x-api-key": API_KEY}).json()
        rss: list[float] = []
        done = 0

        def on_done() -> None:
            nonlocal done
            done += 1
            if done % args.rss_every == 0:
                rss.append(tree_rss_mib(server.pid))

        deadline = time.monotonic() + args.time_limit
        asyncio.run(run_level(url, notes, max(levels), args.warmup, deadline, lambda: None))
        rss_warm = tree_rss_mib(server.pid)
        results = []
        for c, n in zip(levels, counts):
            before = httpx.get(url + "/metrics").text
            res = asyncio.run(run_level(url, notes, c, n, deadline, on_done))
            after = httpx.get(url + "/metrics").text
            calls = metric(after, "medlens_batch_documents_count") - metric(before, "medlens_batch_documents_count")
            res["mean_batch"] = (metric(after, "medlens_batch_documents_sum")
                                 - metric(before, "medlens_batch_documents_sum")) / max(calls, 1)
            results.append(res)
            print(f"concurrency {c:>3}: {res['requests']:>6} requests, {res['ok']} ok, {res['errors']} errors, "
                  f"{res['503']} 503, {res['504']} 504; {res['rps']:.2f} req/s, {res['words_per_s']:,.0f} words/s, "
                  f"p50 {res['p50_ms']:.0f} ms, p99 {res['p99_ms']:.0f} ms, mean batch {res['mean_batch']:.1f}"
                  + (f", median Retry-After {res['retry_after_s']:g} s" if res["retry_after_s"] else ""), flush=True)
        rss_end = tree_rss_mib(server.pid)
        metrics = httpx.get(url + "/metrics").text
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    load_after = os.getloadavg()

    batch_sum = metric(metrics, "medlens_batch_documents_sum")
    batch_count = metric(metrics, "medlens_batch_documents_count")
    growth = 100 * (rss_end - rss_warm) / rss_warm
    at16 = next((r for r in results if r["concurrency"] == 16), None)
    run = run_info()
    table = markdown_table(
        ["clients", "requests", "200", "errors", "503", "504", "req/s", "words/s", "p50 ms", "p99 ms", "mean batch"],
        [[r["concurrency"], f"{r['requests']:,}", f"{r['ok']:,}", r["errors"], r["503"], r["504"], f"{r['rps']:.2f}",
          f"{r['words_per_s']:,.0f}", f"{r['p50_ms']:,.0f}", f"{r['p99_ms']:,.0f}", f"{r['mean_batch']:.1f}"]
         for r in results],
        align=["r"] * 11)
    verdict = ""
    if at16:
        verdict = (f"- Target (issue 17): p99 at 16 clients <= 1.5 x 16 x {note_words:.0f} words / "
                   f"{single['words_per_s']:,.0f} words/s = {target_ms:,.0f} ms; measured {at16['p99_ms']:,.0f} ms: "
                   f"{'met' if at16['p99_ms'] <= target_ms else 'missed'}.")
    limits = info.get("limits", {})
    if single.get("given"):
        single_line = f"- Single process: {single['words_per_s']:,.0f} words/s, measured by an earlier run (--single-words-per-s)."
    else:
        single_line = (f"- Single process (`medlens.load()` + `nlp.pipe`, {single['notes']} of the notes, after a warm-up): "
                       f"{single['words_per_s']:,.0f} words/s;\n  the first 32 notes in pipe calls of 1 / 4 / 16 notes: "
                       f"{' / '.join(f'{v:,.0f}' for v in single['by_batch'].values())} words/s (what filling the model's "
                       "batches is worth).")
    md = f"""`benchmarks/service_load.py`: `medlens serve` started by the script ({ready['backend']}, {ready['workers']}
worker(s), micro-batching; limits {', '.join(f'{k} {v:g}' for k, v in limits.items())}{'; ' + ', '.join(args.env) if args.env else ''}),
`POST /v1/analyze` with the {len(notes)} MTSamples notes of 250-350 words (mean {note_words:.0f}; a development set,
only speed is measured), sent in order, cycling; httpx asyncio clients on the same machine, one keep-alive
connection each; after {args.warmup} warm-up requests. A client that gets 503 waits its Retry-After.
Machine: {run['machine']['summary']}; {run['date']}, commit {run['commit']}.
Load average (1/5/15 min) before {' / '.join(f'{x:.1f}' for x in load_before)}, after {' / '.join(f'{x:.1f}' for x in load_after)}.{(' ' + args.note) if args.note else ''}

{table}

{single_line}
{verdict}
- Server start to ready: {startup:.1f} s. Micro-batching: {batch_count:,.0f} model calls for {batch_sum:,.0f} documents
  (mean batch {batch_sum / max(batch_count, 1):.2f}).
- Memory (server + workers, RSS): {rss_warm:,.0f} MiB after the warm-up, {rss_end:,.0f} MiB at the end ({growth:+.1f} % over
  {done:,} requests; target < 5 %: {'met' if growth < 5 else 'missed'}){f'; every {args.rss_every:,}: ' + ', '.join(f'{x:.0f}' for x in rss) + ' MiB' if rss else ''}.
"""
    print(md)
    if not args.no_readme:
        print("written to", update_readme_section(args.section, md))


if __name__ == "__main__":
    main()
