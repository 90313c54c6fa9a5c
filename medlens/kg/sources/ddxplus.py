"""DDXPlus common-disease knowledge (CC-BY 4.0), from the compact file medlens ships.

Reads ``resources/en/common/ddxplus.json`` (made by ``scripts/convert_ddxplus.py`` from the DDXPlus
release; the package never needs the release itself) and the reviewed evidence mapping
``resources/en/common/ddxplus_mapping.json``. Ids:

* diseases: ``DDXPLUS:pulmonary_embolism`` (label OTHER: kept, never matched in text, since
  their names overlap the ontologies'), attrs ``icd10cm``, ``icd10`` (DDXPlus's WHO code),
  ``severity`` (1 most severe .. 5), ``prior``;
* evidences and value groups: ``DDXPLUS:fievre``, ``DDXPLUS:douleurxx_endroitducorps@chest``
  (label OTHER), the English question as definition, attrs ``antecedent``.

Relations: disease ``xref`` ICD-10-CM code; disease ``has_finding`` evidence with attrs
``probability`` (P(evidence | disease) from DDXPlus's training patients); evidence ``xref``
each mapped graph concept. The source record keeps the attribution DDXPlus asks for.
"""

from __future__ import annotations

import json
from pathlib import Path

from medlens.errors import Errors, SourceError
from medlens.kg.sources.base import SourceData
from medlens.kg.store import Concept, Relation, SourceInfo, Synonym
from medlens.resources import resource_path

SOURCE = "ddxplus"


def read_ddxplus(path: str | Path | None = None, mapping: str | Path | None = None) -> SourceData:
    """The DDXPlus diseases, evidences and their probabilities as graph records.

    Raises:
        SourceError: a file is missing or unreadable, or two records share an id.
    """
    path = Path(path) if path else resource_path("common/ddxplus.json")
    mapping = Path(mapping) if mapping else resource_path("common/ddxplus_mapping.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        m = json.loads(mapping.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(Errors.E104.format(source=SOURCE, path=path, details=exc)) from exc
    src = data["source"]
    info = SourceInfo(name=SOURCE, version=src["version"], title=src["title"], license=src["license"],
                      origin=src["origin"])
    out = SourceData(info)
    ids: set[str] = set()

    def concept(cid: str, name: str, definition: str | None, attrs: dict) -> None:
        if cid in ids:
            raise SourceError(Errors.E105.format(path=path, line=0, details=f"two DDXPlus records have the id {cid}"))
        ids.add(cid)
        out.concepts.append(Concept(cid, name, SOURCE, "OTHER", definition, attrs))
        out.synonyms.append(Synonym(cid, name, "preferred", SOURCE))

    for key, e in data["evidences"].items():
        mk = m["evidences"].get(key, {})
        name = mk.get("label") or e["question"]
        concept(f"DDXPLUS:{key}", name, e["question"], {"antecedent": e["antecedent"], "type": e["type"]})
        for c in mk.get("concepts", []):
            out.relations.append(Relation(f"DDXPLUS:{key}", "xref", c, SOURCE))
    for ev, groups in m["values"].items():
        for g, gm in groups.items():
            cid = f"DDXPLUS:{ev}@{g}"
            concept(cid, gm["label"], data["evidences"][ev]["question"], {"values": gm["values"]})
            for c in gm.get("concepts", []):
                out.relations.append(Relation(cid, "xref", c, SOURCE))
    for d in data["diseases"]:
        concept(d["id"], d["name"], None, {"icd10cm": d["icd10cm"], "icd10": d["icd10"], "severity": d["severity"],
                                           "prior": d["prior"]})
        out.relations.append(Relation(d["id"], "xref", f"ICD10CM:{d['icd10cm']}", SOURCE,
                                      {"note": d["icd10cm_note"]} if d.get("icd10cm_note") else {}))
        for ev, p in d["findings"].items():
            out.relations.append(Relation(d["id"], "has_finding", f"DDXPLUS:{ev}", SOURCE, {"probability": p}))
    return out
