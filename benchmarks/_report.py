"""Shared helpers for recording benchmark results in benchmarks/README.md.

Every benchmark script owns one ``## Heading`` section of the README and
rewrites only that section; the rest of the file is left as it is::

    from _report import machine_info, run_info, update_readme_section, markdown_table

    md = markdown_table(["system", "words/s"], [["medlens", "12,345"]])
    update_readme_section("Throughput", md)

Standard library only, so any environment's Python can import it.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
README = BENCH_DIR / "README.md"

_INTRO = """# medlens benchmarks

Accuracy and speed benchmarks for medlens, each with the results last recorded
on a named machine. Every script rewrites only its own section below; rerun a
script to refresh its numbers. Comparison systems (medspaCy, ...) run in their
own environments under `benchmarks/.envs/`, never in medlens's.
"""


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.lower().startswith("model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def machine_info() -> dict[str, object]:
    """CPU model, logical cores, RAM, OS and Python of this machine."""
    ram = _ram_gib()
    info: dict[str, object] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    info["summary"] = f"{info['cpu']}, {info['cores']} cores, {ram if ram is not None else '?'} GiB RAM, {info['os']}"
    return info


def cpu_flags() -> str:
    """The SIMD instruction sets of this CPU that matter for int8 inference (``/proc/cpuinfo`` flags:
    avx2, avx512f, avx512_vnni, avx_vnni, amx_int8), space-separated; "no AVX2" when none."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return platform.machine() or "unknown"
    keep = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8") if f in flags]
    return " ".join(keep) or "no AVX2"


def load_average() -> tuple[float, float, float]:
    """The 1/5/15-minute load average (NaNs where the OS has none)."""
    try:
        return os.getloadavg()
    except (OSError, AttributeError):
        return (float("nan"),) * 3


def git_commit(root: Path = ROOT) -> str:
    """``git rev-parse --short HEAD``, with ``+dirty`` when tracked files have changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=30)
        return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_info() -> dict[str, object]:
    """Machine, date (UTC) and commit: what every recorded result is tagged with."""
    return {
        "machine": machine_info(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "commit": git_commit(),
    }


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]],
                   align: Sequence[str] | None = None) -> str:
    """A GitHub markdown table; ``align`` holds "l" or "r" per column (default: left)."""
    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def parse_markdown_table(markdown: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the first markdown table in ``markdown`` (([], []) if none)."""
    lines = [ln.strip() for ln in markdown.splitlines()]
    for i in range(len(lines) - 1):
        if lines[i].startswith("|") and re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|)+", lines[i + 1]):
            def split(line: str) -> list[str]:
                cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
                return [c.strip().replace("\\|", "|") for c in cells]

            header = split(lines[i])
            rows = []
            for line in lines[i + 2:]:
                if not line.startswith("|"):
                    break
                rows.append(split(line))
            return header, rows
    return [], []


def recorded_rows(heading: str, columns: Sequence[str], readme: Path = README) -> list[dict[str, str]]:
    """The rows of the table of the README's ``## heading`` section as dicts, when its header is ``columns``
    (rows of another width left out); [] when there is no such section or its table has other columns."""
    old = read_readme_section(heading, readme)
    if not old:
        return []
    header, rows = parse_markdown_table(old)
    if header != list(columns):
        return []
    return [dict(zip(header, r)) for r in rows if len(r) == len(header)]


def _section_span(text: str, heading: str) -> tuple[int, int] | None:
    """Start and end offsets of the ``## heading`` section (up to the next ``## `` or EOF)."""
    m = re.search(rf"^## {re.escape(heading)}[ \t]*$", text, flags=re.MULTILINE)
    if not m:
        return None
    nxt = re.search(r"^## ", text[m.end():], flags=re.MULTILINE)
    end = m.end() + nxt.start() if nxt else len(text)
    return m.start(), end


def read_readme_section(heading: str, readme: Path = README) -> str | None:
    """The body of the ``## heading`` section (without the heading line), or None."""
    if not readme.exists():
        return None
    text = readme.read_text(encoding="utf-8")
    span = _section_span(text, heading)
    if span is None:
        return None
    body = text[span[0]:span[1]]
    return body.split("\n", 1)[1] if "\n" in body else ""


def update_readme_section(heading: str, markdown: str, readme: Path = README) -> Path:
    """Replace the ``## heading`` section of the README with ``markdown``.

    The section runs from its heading to the next ``## `` heading; it is
    appended at the end when absent. The README is created with a short
    intro when missing. Returns the README's path.
    """
    text = readme.read_text(encoding="utf-8") if readme.exists() else _INTRO
    section = f"## {heading}\n\n{markdown.strip()}\n\n"
    span = _section_span(text, heading)
    if span is None:
        text = text.rstrip() + "\n\n" + section
    else:
        text = text[:span[0]] + section + text[span[1]:]
    text = text.rstrip() + "\n"
    tmp = readme.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(readme)
    return readme
