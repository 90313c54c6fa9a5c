"""Rebuild the name and address word lists under ``resources/en/deid/`` (a developer tool).

The lists are extracted from the locale data that the Faker package carries
(first and last names of every Latin-script locale, US street suffixes and
states) and shipped as JSON, so that detection never imports Faker. Locales in
:data:`HELD_OUT_LOCALES` are left out on purpose: the synthetic-note generator
draws held-out names from them, so the evaluation measures names the lexicon
has never seen.

Run: ``python -m medlens.deid.build_resources``
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import unicodedata
from pathlib import Path

from medlens.resources import resource_path

HELD_OUT_LOCALES = ("fi_FI", "tr_TR", "ig_NG", "tw_GH", "yo_NG")
"""Name origins the lexicon never sees (used by the generator's held-out split)."""


def _values(x) -> list[str]:
    if isinstance(x, dict):
        return [str(k) for k in x]
    if isinstance(x, (list, tuple)):
        return [str(v) for v in x]
    return []


def _latin(word: str) -> bool:
    return all(("LATIN" in unicodedata.name(c, "")) or c in "'-’ " for c in word)


def _collect(attr: str) -> set[str]:
    from faker.providers import person

    out: set[str] = set()
    for mod in pkgutil.iter_modules(person.__path__):
        if mod.name in HELD_OUT_LOCALES:
            continue
        try:
            provider = importlib.import_module(f"faker.providers.person.{mod.name}").Provider
        except ImportError:
            continue
        for name in _values(getattr(provider, attr, ())):
            for part in name.replace("-", " ").split():
                if len(part) >= 2 and _latin(part):
                    out.add(part.lower())
    return out


def build(out_dir: Path | None = None) -> dict[str, int]:
    """Write ``names.json`` and ``address_terms.json``; returns the list sizes."""
    from faker.providers.address.en_US import Provider as Address
    from faker.providers.lorem.en_US import Provider as Lorem

    out = out_dir or resource_path("deid")
    first = _collect("first_names")
    last = _collect("last_names")
    names = {"version": 1, "source": "Faker locale data (held-out locales excluded: " + ", ".join(HELD_OUT_LOCALES) + ")",
             "first": sorted(first), "last": sorted(last)}
    common = sorted({w.lower() for w in Lorem.word_list})
    suffixes = sorted({s for s in Address.street_suffixes} | {"St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl", "Ter",
                                                           "Cir", "Pkwy", "Hwy", "Sq", "Trl", "Way"})
    states = dict(sorted(Address.states_abbr_to_name.items())) if hasattr(Address, "states_abbr_to_name") else {}
    if not states:
        states = dict(zip(Address.states_abbr, Address.states))
    terms = {"version": 1, "street_suffixes": suffixes, "states": states, "common_words": common}
    (out / "names.json").write_text(json.dumps(names, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    (out / "address_terms.json").write_text(json.dumps(terms, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {"first": len(first), "last": len(last), "street_suffixes": len(suffixes), "states": len(states)}


if __name__ == "__main__":
    print(build())
