"""Load benchmark of ``medlens serve`` on loopback: requests/s and latency at several concurrencies.

Starts ``medlens serve`` (default graph, process backend) on 127.0.0.1 with a
free port, sends a 300-word note to ``POST /v1/analyze`` from an asyncio
client (one keep-alive connection per concurrent client), and records, per
concurrency level, requests/s and p50/p99 latency; every response must be 200.
The server's memory (RSS of the server and its worker processes) is sampled
after each request thousand to check it does not grow between the first and
the last thousand. Bounded: a fixed number of requests per level and a time
limit for the whole run. Results go to benchmarks/README.md under
"Service load (medlens serve)".

    .venv/bin/python benchmarks/load_service.py                      # 1, 8, 32 clients; 10,500 requests
    .venv/bin/python benchmarks/load_service.py --requests 200,400,400 --no-readme   # a quick check

The client shares the machine's cores with the server, so the numbers are a
lower bound of what the server does with its cores to itself.
"""

from __future__ import annotations

import argparse
import asyncio
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
sys.path.insert(0, str(BENCH))
from _report import markdown_table, run_info, update_readme_section  # noqa: E402

HEADING = "Service load (medlens serve)"
API_KEY = "bench-key"


def note_300_words() -> str:
    words = []
    for f in sorted((ROOT / "examples").glob("*.txt")):
        words += f.read_text(encoding="utf-8").split()
        if len(words) >= 300:
            break
    return " ".join(words[:300])


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
                children = Path(f"/proc/{p}/task/{tid}/children").read_text().split()
                todo += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


async def run_level(url: str, text: str, concurrency: int, n_requests: int, deadline: float,
                    on_done) -> dict:
    latencies: list[float] = []
    errors = 0
    sent = 0
    body = json.dumps({"text": text, "id": "bench"}).encode()
    headers = {"content-type": "application/json", "x-api-key": API_KEY}

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < n_requests and time.monotonic() < deadline:
            sent += 1
            t0 = time.perf_counter()
            try:
                r = await client.post(url + "/v1/analyze", content=body, headers=headers)
                ok = r.status_code == 200 and r.content.startswith(b'{"schema_version"')
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok
            on_done()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors, "seconds": wall,
            "rps": len(latencies) / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 99)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--concurrency", default="1,8,32", help="client counts, comma-separated")
    ap.add_argument("--requests", default="1500,4000,5000", help="requests per level, comma-separated")
    ap.add_argument("--workers", type=int, default=0, help="server analysis processes (0: every core)")
    ap.add_argument("--executor", default="process", choices=["process", "thread"])
    ap.add_argument("--kg", default=None, help="knowledge graph (default location if omitted)")
    ap.add_argument("--time-limit", type=float, default=1500, help="seconds for the whole run")
    ap.add_argument("--no-readme", action="store_true", help="print results without writing the README")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    counts = [int(x) for x in args.requests.split(",")]
    if len(counts) != len(levels):
        counts = [counts[0]] * len(levels)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "medlens.cli.app", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--executor", args.executor, "--log-level", "warning"]
    if args.kg:
        cmd += ["--kg", args.kg]
    env = {**os.environ, "MEDLENS_API_KEYS": API_KEY}
    t0 = time.perf_counter()
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"server exited: {server.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > 180:
                raise SystemExit("server not ready after 180 s")
            time.sleep(0.25)
        startup = time.perf_counter() - t0
        ready = httpx.get(url + "/readyz").json()
        text = note_300_words()
        rss: list[float] = []
        done = 0

        def on_done() -> None:
            nonlocal done
            done += 1
            if done % 1000 == 0:
                rss.append(tree_rss_mib(server.pid))

        deadline = time.monotonic() + args.time_limit
        # warm-up (not counted)
        asyncio.run(run_level(url, text, max(levels), 4 * max(1, ready["workers"]) * 4, deadline, lambda: None))
        rss.append(tree_rss_mib(server.pid))
        results = []
        for c, n in zip(levels, counts):
            res = asyncio.run(run_level(url, text, c, n, deadline, on_done))
            results.append(res)
            print(f"concurrency {c:>3}: {res['requests']:>6} requests, {res['errors']} errors, "
                  f"{res['rps']:.1f} req/s, p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms", flush=True)
        rss.append(tree_rss_mib(server.pid))
        metrics = httpx.get(url + "/metrics").text
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()

    batch_line = [ln for ln in metrics.splitlines() if ln.startswith("medlens_batch_documents_sum") or
                  ln.startswith("medlens_batch_documents_count")]
    batch_sum = float(batch_line[1].split()[-1]) if len(batch_line) == 2 else float("nan")
    batch_count = float(batch_line[0].split()[-1]) if len(batch_line) == 2 else float("nan")
    total = sum(r["requests"] for r in results)
    errors = sum(r["errors"] for r in results)
    first_k, last_k = rss[1] if len(rss) > 1 else rss[0], rss[-1]
    info = run_info()
    table = markdown_table(
        ["clients", "requests", "errors", "req/s", "p50 ms", "p99 ms"],
        [[r["concurrency"], f"{r['requests']:,}", r["errors"], f"{r['rps']:.1f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}"]
         for r in results], align=["r", "r", "r", "r", "r", "r"])
    md = f"""`benchmarks/load_service.py`: `medlens serve` on 127.0.0.1 with the default knowledge graph,
{ready['backend']} with {ready['workers']} worker(s) (micro-batching on), `POST /v1/analyze` with a
300-word note (from `examples/`), httpx asyncio clients on the same machine (keep-alive; one
connection per client), after a warm-up. Machine: {info['machine']['summary']}; {info['date']}, commit {info['commit']}.

{table}

- {total:,} requests, {errors} errors; server start to ready: {startup:.1f} s.
- Micro-batching: {batch_count:,.0f} model calls for {batch_sum:,.0f} documents (mean batch {batch_sum / max(batch_count, 1):.2f}).
- Memory (server + workers, RSS): {first_k:.0f} MiB after the first thousand requests, {last_k:.0f} MiB after
  the last ({last_k - first_k:+.0f} MiB); samples every thousand: {', '.join(f'{x:.0f}' for x in rss)} MiB.
- The client runs on the same 2 cores as the server, so it takes a share of the CPU the server
  would otherwise use.
"""
    print(md)
    if not args.no_readme:
        print("written to", update_readme_section(HEADING, md))


if __name__ == "__main__":
    main()
