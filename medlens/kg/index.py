"""The synonym match index stored inside the graph file.

At build time every synonym is reduced to its *key* (see
:mod:`medlens.normalize`); synonyms sharing a key become one *entry*
(``match_entries`` table: word-order-free key, label, concept ids, flags).

Matching runs at the word level: every distinct key piece (word) gets one code
point, so a key like ``type 2 diabete mellitus`` becomes a four-character
string. The index is a word trie flattened into two hash tables: ``keys``
(encoded key -> int) and ``prefixes`` (every proper prefix of a key). From each
token the matcher extends one word at a time while the string is a prefix, so
each position costs one or two dict lookups. (A character-level Aho-Corasick
automaton over the same strings made the whole component 5x slower: its root
has one child per vocabulary word.) Both tables and the piece vocabulary are pickled
into the graph's ``blobs`` table, so opening a pipeline costs a blob read, not
a rebuild. Each key maps to one int::

    value = entry_id << 8 | n_pieces << 1 | case_sensitive

so a match needs no extra lookup to know its length, and only the few
selected entries are read from SQLite.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from medlens.normalize import bag_key, key_of_tokens

BLOB_NAME = "match_index.v3"
MAX_PIECES = 127
UNKNOWN = "\x01"  # stands for a piece no key contains

# When one key names concepts of several labels, the label shown is the first
# of this order that any of them carries, among ICD-10-CM's concepts when it names
# the key as a symptom, disease or finding and HPO does not call it a symptom (see _classified); the curated lexicon's
# label wins outright ("potassium" is a TEST in a note, though the drug list has it too).
LABEL_PRIORITY = ("SYMPTOM", "DISEASE", "DRUG", "TEST", "PROCEDURE", "ANATOMY", "FINDING")
SKIP_KINDS = frozenset({"broad"})
FRAGMENT_KINDS = frozenset({"inclusion"})
LINK_ONLY_KINDS = frozenset({"mention"})
"""Synonyms the linker looks up but the dictionary recognizer never matches on their own:
they join the entry of a key another synonym names (without voting on its label), and a
key only they name goes to the link-only table (:attr:`MatchIndex.link_keys`)."""
CURATED_SOURCE = "medlens"  # the curated lexicon's label wins over the ontologies' for the same key

FLAG_CASE_SENSITIVE = 1
FLAG_ABBREVIATION = 2
FLAG_AMBIGUOUS = 4

_ENTRIES_SCHEMA = """
CREATE TABLE match_entries(
    id INTEGER PRIMARY KEY, bag TEXT, label TEXT NOT NULL,
    concept_ids TEXT NOT NULL, flags INTEGER NOT NULL, meta TEXT
);
"""
# the word-order-free key is stored only where it differs from the key itself
_ENTRIES_INDEX = """
CREATE INDEX match_entries_bag ON match_entries(bag) WHERE bag IS NOT NULL;
"""


class PieceVocab:
    """Maps key pieces (words) to single code points and back."""

    _SKIP = range(0xD800, 0xE000)  # surrogates are not valid code points in str

    def __init__(self, pieces: dict[str, str] | None = None) -> None:
        self.pieces: dict[str, str] = pieces or {}

    def add(self, piece: str) -> str:
        ch = self.pieces.get(piece)
        if ch is None:
            n = 0x100 + len(self.pieces)
            if n >= self._SKIP.start:
                n += len(self._SKIP)
            ch = self.pieces[piece] = chr(n)
        return ch

    def encode(self, key: str, add: bool = False) -> str:
        """The code-point string of a key; unknown pieces become :data:`UNKNOWN`."""
        if add:
            return "".join(self.add(p) for p in key.split())
        get = self.pieces.get
        return "".join(get(p, UNKNOWN) for p in key.split())



@dataclass(frozen=True, slots=True)
class Entry:
    """One matchable key: the concepts it names, their label and flags."""

    id: int
    label: str
    concept_ids: tuple[str, ...]
    flags: int
    meta: dict

    @property
    def is_abbreviation(self) -> bool:
        return bool(self.flags & FLAG_ABBREVIATION)


def _is_acronym(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return 0 < len(letters) <= 6 and all(c.isupper() for c in letters) and " " not in text.strip()


def build_index(
    conn: sqlite3.Connection,
    tokenize: Callable[[Iterable[str]], Iterable[list[str]]],
    abbreviations: Iterable = (),
    stop_terms: Iterable[str] = (),
    min_key_chars: int = 3,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Build ``match_entries`` and the match index blob in an open graph being built.

    Args:
        conn: connection of the graph file being written (concepts and synonyms present).
        tokenize: turns texts into token-text lists (the pipeline's tokenizer).
        abbreviations: records with ``abbr``, ``expansions``, ``case_sensitive``, ``label``,
            ``ambiguous`` and ``not_in_sections``; each expansion is resolved to the
            concepts whose synonyms share its key, and the abbreviation is added to the
            graph as a synonym of kind ``abbreviation`` (source ``medlens``).
        stop_terms: keys never matched on their own (common words, blocklist).
        min_key_chars: keys shorter than this are not matched (abbreviations excepted).
        progress: called with the number of synonyms processed since the last call.

    Returns:
        Counts: ``entries``, ``synonyms``, ``skipped_stop``, ``skipped_short``,
        ``abbreviations`` and ``abbreviations_unresolved``.
    """
    labels: dict[str, str] = {}
    curated: set[str] = set()
    for cid, label, source in conn.execute("SELECT id, label, source FROM concepts WHERE label != 'OTHER'"):
        labels[cid] = label
        if source == CURATED_SOURCE:
            curated.add(cid)
    rows = [
        (cid, text, kind) for cid, text, kind in conn.execute("SELECT concept_id, text, kind FROM synonyms")
        if cid in labels and kind not in SKIP_KINDS and not text.rstrip().endswith(",")
    ]  # a name ending in a comma is cut short ("alcohol," of benzyl alcohol): it would match "alcohol"
    stop = {key_of_tokens([w]) for w in STOP_WORDS} | {s.lower() for s in stop_terms}
    by_key: dict[str, set[str]] = defaultdict(set)
    resolvable: dict[str, set[str]] = defaultdict(set)  # by_key plus fragments, for abbreviation expansions
    fragments: dict[str, set[str]] = defaultdict(set)
    link_only: dict[str, set[str]] = defaultdict(set)
    case_votes: dict[str, list[bool]] = defaultdict(list)
    counts = Counter()
    step = 5000
    texts = [t for _, t, _ in rows]
    for i, ((cid, text, kind), tokens) in enumerate(zip(rows, tokenize(texts))):
        if progress and i % step == 0 and i:
            progress(step)
        key = key_of_tokens(tokens)
        if not key:
            continue
        if key in stop:
            counts["skipped_stop"] += 1
            continue
        if len(key.replace(" ", "")) < min_key_chars:
            counts["skipped_short"] += 1
            continue
        if kind in LINK_ONLY_KINDS:
            link_only[key].add(cid)
            continue
        resolvable[key].add(cid)
        if kind in FRAGMENT_KINDS and " " not in key:
            # one-word inclusion terms are note fragments ("stage", "stable", "LDL"), not names
            # of their own: they only join a key that another source names ("hypertension")
            fragments[key].add(cid)
            continue
        by_key[key].add(cid)
        case_votes[key].append(_is_acronym(text))
    if progress:
        progress(len(rows) % step)
    counts["synonyms"] = len(rows)
    named_by = {key: frozenset(cids) for key, cids in by_key.items()}  # the label comes from these
    for key, cids in fragments.items():
        if key in by_key:
            by_key[key] |= cids
            # an ICD-10-CM inclusion term under signs and symptoms classifies too ("rash" of R21);
            # not one under a disease code, which includes loose words ("cocaine" of a poisoning code)
            named_by[key] |= {c for c in cids if c.startswith(_CLASSIFIED_PREFIX) and labels.get(c) in _FINDING_LABELS}
        else:
            counts["skipped_fragment"] += 1
    link_table: dict[str, list] = {}
    for key, cids in link_only.items():
        if key in by_key:
            by_key[key] |= cids
        else:
            link_table[key] = [sorted(cids), _pick_label(labels[c] for c in cids), 0, None]
    counts["link_only_keys"] = len(link_table)

    conn.executescript(_ENTRIES_SCHEMA)
    # key -> [concept ids (ordered), label, flags, meta]
    table: dict[str, list] = {}
    for key, cids in by_key.items():
        mine = [c for c in cids if c in curated]
        label = _pick_label(labels[c] for c in (mine or _classified(named_by[key], labels)))
        # an acronym-only key ("ALS", "CHF") must be written in capitals in text
        flags = FLAG_CASE_SENSITIVE if all(case_votes[key]) and len(key) <= 6 else 0
        table[key] = [sorted(cids), label, flags, None]
    # Abbreviations take over their key: their expansion's concepts come first,
    # their case rule and section restrictions apply; the ontologies' own
    # concepts for the same key are kept after them.
    abbr_synonyms = []
    for a in abbreviations:
        cids = [c for exp in a.expansions for c in sorted(resolvable.get(key_of_tokens(next(iter(tokenize([exp])))), ()))]
        key = key_of_tokens(next(iter(tokenize([a.abbr]))))
        if not key or not cids:
            counts["abbreviations_unresolved"] += 1
            continue
        counts["abbreviations"] += 1
        flags = FLAG_ABBREVIATION | (FLAG_CASE_SENSITIVE if a.case_sensitive else 0) | (FLAG_AMBIGUOUS if a.ambiguous else 0)
        meta = {"abbr": a.abbr, "expansions": list(a.expansions)}
        if a.not_in_sections:
            meta["not_in_sections"] = list(a.not_in_sections)
        label = a.label or _pick_label(labels[c] for c in cids)
        old = table.get(key)
        merged = list(dict.fromkeys([*cids, *(old[0] if old else [])]))
        table[key] = [merged, label, flags, meta]
        abbr_synonyms.extend((c, a.abbr, "abbreviation", "medlens") for c in dict.fromkeys(cids))
    conn.executemany("INSERT INTO synonyms VALUES(?,?,?,?)", abbr_synonyms)
    keys: dict[str, int] = {}
    link_keys: dict[str, int] = {}
    vocab = PieceVocab()
    entries = []
    items = [(key, value, keys) for key, value in sorted(table.items())]
    items += [(key, value, link_keys) for key, value in sorted(link_table.items())]
    for entry_id, (key, (cids, label, flags, meta), target) in enumerate(items, start=1):
        n_pieces = key.count(" ") + 1
        if n_pieces > MAX_PIECES:
            continue
        bag = bag_key(key)
        entries.append((entry_id, bag if bag != key else None, label, "|".join(cids), flags, json.dumps(meta) if meta else None))
        target[vocab.encode(key, add=True)] = entry_id << 8 | n_pieces << 1 | (flags & FLAG_CASE_SENSITIVE)
    prefixes = {k[:i] for k in keys if len(k) > 1 for i in range(1, len(k))}
    conn.executemany("INSERT INTO match_entries VALUES(?,?,?,?,?,?)", entries)
    conn.executescript(_ENTRIES_INDEX)
    blob = pickle.dumps((keys, prefixes, vocab.pieces, link_keys), protocol=pickle.HIGHEST_PROTOCOL)
    conn.execute("INSERT OR REPLACE INTO blobs VALUES(?, ?)", (BLOB_NAME, sqlite3.Binary(blob)))
    counts["entries"] = len(entries)
    return dict(counts)


_CLASSIFIED_PREFIX = "ICD10CM:"
_PHENOTYPE_PREFIX = "HP:"
_CLINICAL_LABELS = frozenset({"SYMPTOM", "DISEASE", "FINDING"})
_FINDING_LABELS = frozenset({"SYMPTOM", "FINDING"})


def _classified(cids: Iterable[str], labels: dict[str, str]) -> list[str]:
    """The concepts whose label decides a key's: ICD-10-CM's when it names the key as a
    symptom, disease or finding (its chapters separate signs and symptoms, R00-R69, from
    diseases, so "obesity" is a DISEASE although MeSH also files it under signs and
    symptoms), otherwise all of them.

    ICD-10-CM files many complaints under an organ chapter ("tinnitus" H93.1, "low back
    pain" M54.5, "constipation" K59.0), so it does not decide a key that HPO places under
    one of its symptom roots (label_rules.json: what a patient feels) when no other source
    calls the key a disease ("migraine", also a MeSH disease, stays a DISEASE).
    """
    cids = list(cids)
    icd = [c for c in cids if c.startswith(_CLASSIFIED_PREFIX) and labels.get(c) in _CLINICAL_LABELS]
    if not icd:
        return cids
    others = [c for c in cids if not c.startswith(_CLASSIFIED_PREFIX)]
    felt = any(c.startswith(_PHENOTYPE_PREFIX) and labels.get(c) == "SYMPTOM" for c in others)
    if felt and not any(labels.get(c) == "DISEASE" for c in others):
        return cids
    return icd


def _pick_label(labels: Iterable[str]) -> str:
    present = set(labels)
    for label in LABEL_PRIORITY:
        if label in present:
            return label
    return sorted(present)[0]


class MatchIndex:
    """Read side: the key tables, the piece vocabulary and entry lookups, loaded from a graph.

    Attributes:
        keys: encoded key -> ``entry_id << 8 | n_pieces << 1 | case_sensitive``.
        prefixes: every proper prefix of an encoded key.
        vocab: piece -> code point.
        link_keys: encoded keys only ``mention`` synonyms name: looked up by
            :meth:`by_key` (the linker), never by :meth:`find` (the dictionary recognizer).
    """

    def __init__(self, keys: dict[str, int], prefixes: set[str], vocab: PieceVocab, kg,
                 link_keys: dict[str, int] | None = None) -> None:
        self.keys = keys
        self.link_keys = link_keys or {}
        self.prefixes = prefixes
        self.vocab = vocab
        self._kg = kg
        self._cache: dict[int, Entry] = {}

    @classmethod
    def from_graph(cls, kg) -> MatchIndex:  # kg: KnowledgeGraph (not imported: avoid a cycle)
        """The index of ``kg``, loaded once per graph and shared by every component."""
        cached = getattr(kg, "_match_index", None)
        if cached is not None:
            return cached
        from medlens.errors import Errors, KnowledgeGraphError

        data = kg.blob(BLOB_NAME)
        if data is None:
            raise KnowledgeGraphError(Errors.E101.format(
                path=kg.path, found=kg.meta("schema_version"), expected=f"with {BLOB_NAME}",
                details="the graph has no synonym match index of this version; rebuild it with `medlens kg build`"))
        keys, prefixes, pieces, *rest = pickle.loads(data)  # graphs built before link-only keys have 3 parts
        index = cls(keys, prefixes, PieceVocab(pieces), kg, rest[0] if rest else None)
        kg._match_index = index
        return index

    def find(self, stream: str, starts: Iterable[int]) -> Iterator[tuple[int, int, int]]:
        """``(start, end, value)`` of every key found in ``stream`` beginning at one of ``starts``
        (``end`` exclusive)."""
        keys, prefixes = self.keys, self.prefixes
        n = len(stream)
        for i in starts:
            j = i + 1
            while j <= n:
                sub = stream[i:j]
                value = keys.get(sub)
                if value is not None:
                    yield i, j, value
                if sub not in prefixes:
                    break
                j += 1

    def entries(self, ids: Iterable[int]) -> dict[int, Entry]:
        """Entries by id (cached)."""
        out: dict[int, Entry] = {}
        missing = []
        for i in ids:
            e = self._cache.get(i)
            if e is None:
                missing.append(i)
            else:
                out[i] = e
        for i in range(0, len(missing), 500):
            chunk = missing[i : i + 500]
            q = f"SELECT id, label, concept_ids, flags, meta FROM match_entries WHERE id IN ({','.join('?' * len(chunk))})"
            for row in self._kg.query(q, chunk):
                e = _entry(row)
                out[e.id] = e
                if len(self._cache) < 200_000:
                    self._cache[e.id] = e
        return out

    def by_key(self, key: str) -> list[Entry]:
        """The entry whose key is exactly ``key`` (a list of at most one)."""
        encoded = self.vocab.encode(key) if key else None
        value = (self.keys.get(encoded) or self.link_keys.get(encoded)) if encoded else None
        if value is None:
            return []
        return list(self.entries([value >> 8]).values())

    def by_bag(self, bag: str) -> list[Entry]:
        """Entries whose words, in any order, are those of ``bag`` (see :func:`bag_key`)."""
        rows = self._kg.query("SELECT id, label, concept_ids, flags, meta FROM match_entries WHERE bag=?", (bag,))
        found = [_entry(r) for r in rows]
        return found or self.by_key(bag)


def _entry(row: tuple) -> Entry:
    return Entry(row[0], row[1], tuple(row[2].split("|")), row[3], json.loads(row[4]) if row[4] else {})
