"""Service under load: ``medlens serve`` with real notes at concurrency 1, 4 and 16, against the issue-17 target.

    .venv/bin/python benchmarks/service_load.py                        # 1, 4, 16 clients; 200 requests each
    .venv/bin/python benchmarks/service_load.py --memory               # the memory-flat check: 10,000 requests
    .venv/bin/python benchmarks/service_load.py --requests 60 --no-readme           # a quick look
    .venv/bin/python benchmarks/service_load.py --memory --dump /tmp/requests.csv   # and every request's latency

Data: ``../shared/data/mtsamples/notes.csv`` (real transcribed notes; a development set: nothing is
tuned on it, it only measures speed). The notes of 250-350 words (``--min-words``, ``--max-words``) are
sent in file order, cycling. ``--fresh-words N`` ends each request's note with a line of N words no
earlier request had (an id, a date and a time made from the request's number, as real notes carry
names, dates and numbers), so the vocabulary keeps growing as with real traffic instead of cycling.

``--memory`` is the issue's memory check: 16 clients, 10,000 requests, 2 fresh words per request,
memory sampled every 500 requests, written to "Service under load: memory over 10,000 requests (issue 17)"; about
10 min on a quiet 2-core machine (22 requests/s at 16 clients on 2026-12-03), ~50 min when other jobs share the cores.

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
import shlex
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
from _report import cpu_flags, markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Service under load (issue 17)"
MEMORY_HEADING = "Service under load: memory over 10,000 requests (issue 17)"
DEFAULTS = {"concurrency": "1,4,16", "requests": "200", "fresh_words": 0, "rss_every": 1000, "time_limit": 3600,
            "section": HEADING}
MEMORY_PRESET = {"concurrency": "16", "requests": "10000", "fresh_words": 2, "rss_every": 500, "time_limit": 7200,
                 "section": MEMORY_HEADING}
TARGET_GROWTH = 5.0  # issue 17: memory flat over 10,000 requests, growth < 5 % after the warm-up
API_KEY = "bench-key"


def fresh_words(n: int, words: int) -> str:
    """A line of ``words`` words (at most 4) that no other ``n`` gives: an id, a date, a time and a number
    made from ``n`` (what real notes bring: identifiers, dates, values), e.g. ``"\\nRef ZK3X4 on 2031-05-19 at 07:41h."``."""
    if words <= 0:
        return ""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    code, k = "", n + 36**4  # at least five characters
    while k:
        k, d = divmod(k, 36)
        code = digits[d] + code
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    year = 2030 + n // 336
    parts = [f"Ref {code}", f"on {year}-{month:02d}-{day:02d}", f"at {(n // 7) % 24:02d}:{n % 60:02d}h",
             f"value {n}.{n % 7}"]
    return "\n" + " ".join(parts[:words]) + "."


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


def _checkout_env(extra: dict | None = None) -> dict:
    """The environment with this checkout first on ``PYTHONPATH`` (an editable install may point at another)."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **(extra or {})}


def single_process(n_notes: int, kg: str | None, low: int = 250, high: int = 350) -> dict:
    """Words/s of ``nlp.pipe`` in a fresh process (run as ``--_single``)."""
    cmd = [sys.executable, __file__, "--_single", str(n_notes), str(low), str(high)] + (["--kg", kg] if kg else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800, env=_checkout_env(), cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _single_main(n_notes: int, kg: str | None, low: int = 250, high: int = 350) -> None:
    import medlens

    notes = read_notes(low=low, high=high)[:n_notes]
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
                    on_done, fresh: int = 0, first: int = 0, log: list | None = None) -> dict:
    """``n_requests`` requests from ``concurrency`` clients; with ``fresh`` > 0 each note ends with
    :func:`fresh_words` of the request's number (counted from ``first``, so levels never repeat one).
    ``log``, when given, gets one ``(request number, sent at s, latency ms, status)`` per request."""
    ok_lat: list[float] = []
    counts = {"ok": 0, "errors": 0, "503": 0, "504": 0}
    retry_after: list[float] = []
    words = 0
    sent = 0
    bodies = [json.dumps({"text": t, "id": f"note-{i}"}).encode() for i, t in enumerate(notes)]
    n_words = [len(t.split()) + (len(fresh_words(0, fresh).split()) if fresh else 0) for t in notes]
    headers = {"content-type": "application/json", "x-api-key": API_KEY}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal sent, words
        while sent < n_requests and time.monotonic() < deadline:
            i = sent % len(bodies)
            body = bodies[i] if not fresh else json.dumps(
                {"text": notes[i] + fresh_words(first + sent, fresh), "id": f"req-{first + sent}"}).encode()
            number = first + sent
            sent += 1
            t0 = time.perf_counter()
            wait = 0.0
            try:
                r = await client.post(url + "/v1/analyze", content=body, headers=headers)
                status = r.status_code
                good = status == 200 and r.content.startswith(b'{"schema_version"')
            except httpx.HTTPError:
                status, good = 0, False
            elapsed = time.perf_counter() - t0
            if log is not None:
                log.append((number, round(t0 - start, 4), round(1000 * elapsed, 1), status))
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
    env = _checkout_env({"MEDLENS_API_KEYS": API_KEY, **extra})
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
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
        _single_main(int(sys.argv[2]), kg, int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--memory", action="store_true",
                    help="the memory-flat check: --concurrency 16 --requests 10000 --fresh-words 2 --rss-every 500, "
                         "section 'Service under load: memory over 10,000 requests (issue 17)' (each still overridable)")
    ap.add_argument("--concurrency", default=None, help="client counts, comma-separated (default 1,4,16)")
    ap.add_argument("--requests", default=None, help="requests per level (one number, or one per level; default 200)")
    ap.add_argument("--fresh-words", type=int, default=None,
                    help="end each request's note with this many words no request had before (0-4; default 0, "
                         "--memory 2): new ids, dates and numbers, so the vocabulary grows as with real traffic")
    ap.add_argument("--min-words", type=int, default=250, help="shortest note sent, in words (default 250)")
    ap.add_argument("--max-words", type=int, default=350, help="longest note sent, in words (default 350)")
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
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds for the whole run (default 3600; --memory 7200)")
    ap.add_argument("--dump", default=None, metavar="CSV",
                    help="write every measured request to this CSV file: clients, request number, seconds since "
                         "its level started, latency ms, status (to see where the p99 comes from over a long run)")
    ap.add_argument("--note", default="", help="a line recorded with the figures (e.g. what else ran)")
    ap.add_argument("--rss-every", type=int, default=None,
                    help="sample the server's memory every N requests (default 1000; --memory 500)")
    ap.add_argument("--section", default=None, help=f"README section to write (default: {HEADING!r}, "
                                                     f"--memory {MEMORY_HEADING!r})")
    ap.add_argument("--no-readme", action="store_true", help="print results without writing the README")
    args = ap.parse_args()
    preset = MEMORY_PRESET if args.memory else DEFAULTS
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    levels = [int(x) for x in args.concurrency.split(",")]
    counts = [int(x) for x in args.requests.split(",")]
    counts = counts if len(counts) == len(levels) else [counts[0]] * len(levels)
    notes = read_notes(low=args.min_words, high=args.max_words)
    fresh_n = len(fresh_words(0, args.fresh_words).split())
    if args.warmup is None:
        args.warmup = len(notes)
    note_words = statistics.mean(len(t.split()) for t in notes) + fresh_n
    load_before = os.getloadavg()
    t_start = time.perf_counter()

    single = (single_process(args.single_notes, args.kg, args.min_words, args.max_words)
              if args.single_words_per_s is None else
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
        asyncio.run(run_level(url, notes, max(levels), args.warmup, deadline, lambda: None, args.fresh_words))
        rss_warm = tree_rss_mib(server.pid)
        results = []
        dump: list[tuple] = []
        first = args.warmup
        for c, n in zip(levels, counts):
            before = httpx.get(url + "/metrics").text
            log: list | None = [] if args.dump else None
            res = asyncio.run(run_level(url, notes, c, n, deadline, on_done, args.fresh_words, first, log))
            dump += [(c, *row) for row in log or []]
            first += res["requests"]
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
        if args.dump:
            with open(args.dump, "w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(["clients", "request", "sent_s", "latency_ms", "status"])
                out.writerows(dump)
            print("requests written to", args.dump)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    load_after = os.getloadavg()
    wall_min = (time.perf_counter() - t_start) / 60
    run_cmd = shlex.join([".venv/bin/python", "benchmarks/service_load.py", *sys.argv[1:]])
    fresh_note = (f", each ending with {fresh_n} words no earlier request had (`--fresh-words {args.fresh_words}`: an id "
                  "and a date from the request's number), so the vocabulary grows as with real traffic"
                  if args.fresh_words else "")

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
`POST /v1/analyze` with the {len(notes)} MTSamples notes of {args.min_words}-{args.max_words} words (mean {note_words:.0f}; a development set,
only speed is measured), sent in order, cycling{fresh_note}; httpx asyncio clients on the same machine, one keep-alive
connection each; after {args.warmup} warm-up requests. A client that gets 503 waits its Retry-After.
Machine: {run['machine']['summary']}; {run['date']}, commit {run['commit']}.
Load average (1/5/15 min) before {' / '.join(f'{x:.1f}' for x in load_before)}, after {' / '.join(f'{x:.1f}' for x in load_after)}.{(' ' + args.note) if args.note else ''}

{table}

{single_line}
{verdict}
- Server start to ready: {startup:.1f} s. Micro-batching: {batch_count:,.0f} model calls for {batch_sum:,.0f} documents
  (mean batch {batch_sum / max(batch_count, 1):.2f}).
- Memory (server + workers, RSS): {rss_warm:,.0f} MiB after the warm-up, {rss_end:,.0f} MiB at the end ({growth:+.1f} % over
  {done:,} requests; target < {TARGET_GROWTH:g} %: {'met' if growth < TARGET_GROWTH else 'missed'}){f'; every {args.rss_every:,}: ' + ', '.join(f'{x:.0f}' for x in rss) + ' MiB' if rss else ''}.
- Run: `{run_cmd}`; {wall_min:.0f} min in all; CPU {cpu_flags()}.
"""
    print(md)
    if not args.no_readme:
        print("written to", update_readme_section(args.section, md))


if __name__ == "__main__":
    main()
