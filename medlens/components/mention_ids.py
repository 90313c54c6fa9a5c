"""Identifiers of one vocabulary for given mentions (concept normalization).

:class:`MentionNormalizer` turns a mention (its text, its entity label and,
optionally, the text of its document) into the ids of one vocabulary -- MeSH by
default -- on top of the :class:`~medlens.components.linker.EntityLinker`:

0. with ``composites``, a mention whose text the training annotators coded mostly with
   several ids ("breast and/or ovarian cancer" -> Breast Neoplasms + Ovarian Neoplasms; the
   shipped ``mention_composites.tsv.gz`` of ``scripts/make_mesh_tables.py``) gets those ids; then
   a mention written exactly as one of the training corpora's annotated mentions
   (``mention`` synonyms of source ``mentions``) gets the id annotators gave it -- unless
   it is a short form the document defines with a long form that does not fit that id's
   names ("FAP" learnt as familial adenomatous polyposis, defined here as familial
   amyloidotic polyneuropathy): then the long form is normalized;
1. abbreviations the document defines ("... Duchenne muscular dystrophy (DMD) ...")
   are replaced by their long form (Schwartz & Hearst 2003 rule: the short form's
   letters appear in order in the words just before the parenthesis, the first
   letter starting a word);
2. the linker ranks candidates with the vocabulary preferred (``prefer``); a
   candidate of another source is mapped through :meth:`KnowledgeGraph.map_to`;
3. when nothing is found, simple spelling variants are tried (British spellings,
   "-aemia" -> "-emia", "tumour" -> "tumor", adjectives such as "diabetic");
4. composite mentions ("breast and ovarian cancer", "brain, breast, and prostate
   cancer") that do not name one concept are split into one mention per conjunct
   (``breast cancer``, ``ovarian cancer``), each normalized on its own; asides in
   parentheses are dropped first ("obstructive (P < 0.05) and central apnoea"), and when
   the conjuncts do not all name a concept directly, each one goes through every route
   (variants, semantic, head: "deficits in learning and memory").

When all of this finds nothing and a :class:`~medlens.components.mention_semantic.SemanticIndex`
is given, the nearest concept text by meaning (sentence-encoder cosine, at least
:data:`SEMANTIC_THRESHOLD`; concepts the training annotators used and MeSH descriptors
first by a small margin) names the concept ("artery calcification" -> Vascular
Calcification). Then fuzzy matches are accepted, then the mention's head: its trailing
words without the first ones ("congenital cataract" -> "cataract"), the longest that
names a concept, and last the mention with the document's abbreviations written out
("DMD defects").

Abbreviations are found with Schwartz & Hearst's rule and, where it fails, a looser
one: the words just before the parenthesis whose initials are the short form's letters
in any order ("myotonic dystrophy (DM)").

The result is one id per concept named (several for a composite mention), or an
empty list. A MeSH descriptor newer than the graph's MEDIC vocabulary (2012) that the
training annotators never used is given as its nearest broader concept MEDIC knows
("cytopenia": Cytopenia, created 2024 -> Hematologic Diseases), as the corpora coded with
MEDIC have it (``medic_era=False`` keeps today's descriptor).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from medlens.errors import Errors, KnowledgeGraphError, SourceError
from medlens.kg.store import KnowledgeGraph, vocabulary_name
from medlens.normalize import key_of_tokens

_PAREN = re.compile(r"\(\s*([^()]{1,12}?)\s*\)")
_SPELLING = (
    (re.compile(r"aemi"), "emi"), (re.compile(r"haem"), "hem"), (re.compile(r"oedem"), "edem"),
    (re.compile(r"tumour"), "tumor"), (re.compile(r"oesoph"), "esoph"), (re.compile(r"ischaem"), "ischem"),
    (re.compile(r"leukaem"), "leukem"), (re.compile(r"paed"), "ped"), (re.compile(r"diarrhoe"), "diarrhe"),
    (re.compile(r"foet"), "fet"), (re.compile(r"ae"), "e"),
)
_ADJECTIVES = (
    (re.compile(r"\bdiabetic\b"), "diabetes"), (re.compile(r"\bhypertensive\b"), "hypertension"),
    (re.compile(r"\bhypotensive\b"), "hypotension"), (re.compile(r"\bdeficient\b"), "deficiency"),
    (re.compile(r"\bepileptic\b"), "epilepsy"), (re.compile(r"\basthmatic\b"), "asthma"),
    (re.compile(r"\bischemic\b"), "ischemia"), (re.compile(r"\b(\w+)emic\b"), r"\1emia"),
    (re.compile(r"\b(\w+)otic\b"), r"\1osis"), (re.compile(r"\b(\w+)ic tumou?rs?\b"), r"\1ic neoplasms"),
)
SEMANTIC_THRESHOLD = 0.7
"""Cosine the chosen concept text needs (with a :class:`SemanticIndex`); tuned on the train hold-out."""
SEMANTIC_LABELS = ("DISEASE", "FINDING", "SYMPTOM")
"""Labels of the concepts the semantic route embeds (``semantic=True``): MeSH files obesity and
muscle weakness under signs and symptoms, which annotators code as diseases."""
SEMANTIC_K = 20
"""Concept texts the semantic route ranks."""
SEMANTIC_ANNOTATED_BONUS = 0.06
"""Added to the cosine of a concept the training annotators used (tuned on the train hold-out)."""
SEMANTIC_DESCRIPTOR_BONUS = 0.02
"""Added to the cosine of a MeSH descriptor (``MESH:D``), which annotators prefer to supplementary concepts."""
LONG_FORM_FIT = 80
"""Token-set ratio (0-100) a document's long form needs to a concept's names for the training
annotators' id of its short form to stand."""
MEDIC_ERA_DEPTH = 3
"""Broader steps :meth:`MentionNormalizer.medic_era_id` walks up from a descriptor newer than MEDIC."""
_DESCRIPTOR = re.compile(r"^MESH:D0*(\d+)$")
_STRONG_METHODS = ("exact", "normalized", "abbreviation", "xref")
COMPOSITES_TABLE = Path(__file__).resolve().parents[1] / "resources" / "kg" / "mention_composites.tsv.gz"
"""Codings of the train mention texts coded with several ids (``scripts/make_mesh_tables.py``)."""


def read_composites(path: str | Path) -> list[tuple[str, str, tuple[str, ...], int]]:
    """The lines of a composite mention table: ``(text, type, ids, count)``, ids as graph ids.

    Raises:
        SourceError: E1330 when the file is missing or a line is malformed.
    """
    import gzip

    from medlens.kg.sources.mesh_ids import graph_id

    p = Path(path)
    out = []
    try:
        with (gzip.open(p, "rt", encoding="utf-8") if p.suffix == ".gz" else p.open(encoding="utf-8")) as fh:
            for n, line in enumerate(fh, start=1):
                if line.startswith("#") or not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                ids = tuple(graph_id(i) or "" for i in parts[2].split("|")) if len(parts) == 4 else ()
                if len(parts) != 4 or parts[1] not in ("Chemical", "Disease") or not parts[3].isdigit() \
                        or not ids or not all(ids):
                    raise SourceError(Errors.E1330.format(path=p, details=f"line {n}: {line.strip()[:60]!r}"))
                out.append((parts[0], parts[1], ids, int(parts[3])))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise SourceError(Errors.E1330.format(path=p, details=exc)) from exc
    return out


def _descriptor_number(concept_id: str) -> int | None:
    """``MESH:D006402`` -> 6402, ``MESH:D000095542`` -> 95542; None for other ids."""
    m = _DESCRIPTOR.match(concept_id)
    return int(m.group(1)) if m else None


_ASIDE = re.compile(r"\s*\([^()]*\)")
_CONJ = re.compile(r"\s*(?:,\s*(?:and|or|and/or)\s+|,\s*|\s+and/or\s+|\s+and\s+|\s+or\s+|\s*/\s*)", re.I)


def find_abbreviations(text: str) -> dict[str, str]:
    """Short form -> long form of the abbreviations ``text`` defines as ``long form (SF)``.

    Args:
        text: a document.

    Returns:
        A dict; the first definition of a short form wins.
    """
    found: dict[str, str] = {}
    for m in _PAREN.finditer(text):
        short = m.group(1).strip()
        if not (2 <= len(short) <= 10) or not any(c.isalpha() for c in short) or " " in short.strip() and len(short.split()) > 2:
            continue
        if short in found or not short[0].isalnum():
            continue
        words = text[max(0, m.start() - 200) : m.start()].split()
        window = words[-(min(len(short) + 5, len(short) * 2)) :]
        long = _long_form(short, window) or _initials_long_form(short, window)
        if long:
            found[short] = long
    return found


def _long_form(short: str, words: list[str]) -> str | None:
    """Schwartz & Hearst (2003): match the short form's letters and digits right to left
    in the words before the parenthesis, its first character at the start of a word; the
    long form runs from that word to the parenthesis and has at most
    ``min(len(short) + 5, 2 * len(short))`` words."""
    long = " ".join(words)
    s_i, l_i = len(short) - 1, len(long) - 1
    sl, ll = short.lower(), long.lower()
    while s_i >= 0:
        c = sl[s_i]
        if not c.isalnum():
            s_i -= 1
            continue
        while l_i >= 0 and (ll[l_i] != c or (s_i == 0 and l_i > 0 and ll[l_i - 1].isalnum())):
            l_i -= 1
        if l_i < 0:
            return None
        s_i -= 1
        l_i -= 1
    start = ll.rfind(" ", 0, l_i + 1) + 1
    found = long[start:].strip().rstrip(",;:")
    if not found or len(found) <= len(short) or short.lower() in found.lower().split():
        return None
    return found


_FUNCTION_WORDS = frozenset({"of", "the", "and", "in", "with", "to", "for", "on", "a", "an", "or", "by"})


def _initials_long_form(short: str, words: list[str]) -> str | None:
    """A looser rule for short forms Schwartz & Hearst miss because their letters are out of
    order ("myotonic dystrophy (DM)", "type 2 diabetes (T2D)" stays with the first rule): the
    last words before the parenthesis whose initials are exactly the short form's letters, in
    any order (function words such as "of" in between are skipped, never first or last).

    Only short forms of 2-6 characters that start with a capital letter and whose letters are
    capitals (``DM``, ``HbS`` is not one) are tried."""
    letters = sorted(c.lower() for c in short if c.isalpha())
    if not 2 <= len(short) <= 6 or not short[0].isupper() or len(letters) < 2 \
            or any(c.isalpha() and not c.isupper() for c in short) or any(c.isdigit() for c in short):
        return None
    picked: list[str] = []
    content = 0
    for w in reversed(words):
        core = w.strip("\"'[](),;:.")
        if not core:
            return None
        if core.lower() in _FUNCTION_WORDS:
            if content == 0:
                return None
            picked.append(w)
            continue
        if not core[0].isalpha():
            return None
        picked.append(w)
        content += 1
        if content == len(letters):
            break
    if content != len(letters) or picked[-1].strip("\"'[](),;:.").lower() in _FUNCTION_WORDS:
        return None
    initials = sorted(w.strip("\"'[](),;:.")[0].lower() for w in picked
                      if w.strip("\"'[](),;:.").lower() not in _FUNCTION_WORDS)
    if initials != letters:
        return None
    found = " ".join(reversed(picked)).strip().strip("\"'[(").rstrip(",;:")
    return found if len(found) > len(short) else None


def spelling_variants(text: str) -> list[str]:
    """American spellings and noun forms of ``text`` (without ``text`` itself), most specific first."""
    out: list[str] = []
    low = text.lower()
    for pattern, repl in _SPELLING:
        new = pattern.sub(repl, low)
        if new != low and new not in out:
            out.append(new)
            low2 = new
            for p2, r2 in _ADJECTIVES:
                v = p2.sub(r2, low2)
                if v != low2 and v not in out:
                    out.append(v)
    for pattern, repl in _ADJECTIVES:
        new = pattern.sub(repl, low)
        if new != low and new not in out:
            out.append(new)
    return out


def split_composite(text: str) -> list[str]:
    """The conjuncts of a composite mention, each completed with the shared head or modifier.

    ``breast and ovarian cancer`` -> ``[breast cancer, ovarian cancer]``;
    ``brain, breast, and prostate cancer`` -> three; ``colon and some other cancers`` ->
    ``[colon cancers, other cancers]``; ``Duchenne and Becker muscular dystrophy`` -> two;
    ``hereditary breast and ovarian cancer`` keeps the shared first word on each.
    Returns ``[]`` when ``text`` has no conjunction.
    """
    if _CONJ.search(text):  # "obstructive (P < 0.05) and central apnoea": asides out
        text = _ASIDE.sub(" ", text).strip()
    parts = [p.strip() for p in _CONJ.split(text) if p and p.strip()]
    if len(parts) < 2:
        return []
    last = parts[-1].split()
    first = parts[0].split()
    if len(last) >= 2 and all(len(p.split()) <= 2 for p in parts[:-1]):
        head = " ".join(last[1:])
        out = [f"{p} {head}" for p in parts[:-1]] + [parts[-1]]
        # shared modifier ("hereditary breast and ovarian cancer")
        if len(parts[0].split()) == 2 and len(parts) == 2:
            mod = first[0]
            out = [f"{parts[0]} {head}", f"{mod} {parts[-1]}", parts[-1], f"{first[1]} {head}"][:2]
        return out
    if len(first) >= 2 and all(len(p.split()) == 1 for p in parts[1:]):
        # "hepatitis B and C" -> hepatitis B, hepatitis C
        stem = " ".join(first[:-1])
        return [parts[0]] + [f"{stem} {p}" for p in parts[1:]]
    return parts


@dataclass(frozen=True, slots=True)
class Normalized:
    """The ids found for a mention and how (``route``: ``link``, ``own_name``, ``abbreviation``, ``variant``,
    ``composite``, ...)."""

    ids: tuple[str, ...]
    route: str


class MentionNormalizer:
    """Ids of one vocabulary for given mentions.

    Args:
        linker: an :class:`~medlens.components.linker.EntityLinker` over ``kg``; its
            ``prefer`` is set to ``target`` while normalizing.
        kg: the knowledge graph.
        target: the vocabulary (``mesh``; any source name :meth:`KnowledgeGraph.map_to` accepts).
        accept: id prefixes that count as the vocabulary's ids (default: ``MESH:`` and
            ``OMIM:``, the ids of MEDIC).
        semantic: a :class:`~medlens.components.mention_semantic.SemanticIndex` (or True to
            build one over the graph's disease concepts) for the semantic route: a mention
            that no exact, normalized, abbreviation, composite or spelling route resolves gets
            the concept of its nearest embedded concept text, before fuzzy matching. None
            (default): no semantic route. The first use embeds ~90,000 texts (minutes on 2
            cores; cached on disk).
        semantic_threshold: cosine the chosen concept text needs.
        semantic_first: try the semantic route before fuzzy matches and the head (default),
            else after them.
        reranker: a :class:`~medlens.components.mention_rerank.LinearReranker` (True: the shipped
            one; a path: a model file) that chooses among the candidates of all routes for the
            labels it was trained on (the shipped one: ``DISEASE``), instead of the first route's
            id; composite results (several ids) are kept. Works best with ``semantic``, whose
            cosines are among its features. None (default): the routes' fixed order.
        composites: a composite mention table (``text, type, ids, count`` lines of
            ``scripts/make_mesh_tables.py``; True: the shipped ``mention_composites.tsv.gz``, codings
            of the train mention texts annotated with several ids): a text whose majority coding in it
            has several ids gets those ids first ("breast and/or ovarian cancer" -> two ids, where the
            mention table, which holds one id per text, says the syndrome). False (default): none.
        own_name: among the exact/normalized links of a disease mention, a concept of the first
            link's vocabulary whose own name is the mention comes first ("Dejerine-Sottas syndrome" ->
            MeSH C538392 of that name, not Hereditary Sensory and Motor Neuropathy, which has it as an
            entry term); its choice is not the reranker's to overturn. False (default): the linker's
            order (the CDR relation component's normalizer is unchanged).
        medic_era: give a MeSH descriptor newer than the graph's MEDIC vocabulary (2012) as its
            nearest broader concept MEDIC knows (:meth:`medic_era_id`; "cytopenia" -> Hematologic
            Diseases, as NCBI-disease, BC5CDR and CTD code it). True (default) suits text to be
            compared with MEDIC-coded data; False gives today's descriptor. Not for DRUG/CHEMICAL
            mentions (MEDIC is a disease vocabulary).
    """

    def __init__(self, linker, kg: KnowledgeGraph, target: str = "mesh",
                 accept: tuple[str, ...] = ("MESH:", "OMIM:"), semantic=None,
                 semantic_threshold: float = SEMANTIC_THRESHOLD, semantic_first: bool = True,
                 reranker=None, medic_era: bool = True, composites=False, own_name: bool = False) -> None:
        self.linker = linker
        self.own_name = own_name
        if composites is True:
            composites = COMPOSITES_TABLE
        self._composite_rows = read_composites(composites) if composites else []
        self._composite_keys: dict[tuple[str, bool], tuple[str, ...]] | None = None
        self.medic_era = medic_era
        self._newest: int | None = None
        if semantic is True:
            from medlens.components.mention_semantic import SemanticIndex

            semantic = SemanticIndex(kg, labels=SEMANTIC_LABELS, accept=accept)
        self.semantic = semantic or None
        if reranker is True or isinstance(reranker, (str, Path)):
            from medlens.components.mention_rerank import LinearReranker

            reranker = LinearReranker(None if reranker is True else reranker)
        self.reranker = reranker or None
        if self.reranker is not None:
            from medlens.components.mention_rerank import CandidateGenerator

            self.candidates = CandidateGenerator(self)
        self.semantic_threshold = semantic_threshold
        self.semantic_first = semantic_first
        self._annotated_set: set[str] | None = None
        self.kg = kg
        self.target = vocabulary_name(target)
        self.accept = accept
        self._mention_keys: dict[tuple[str, bool], set[str]] | None = None
        linker.prefer = [self.target, *(p for p in ("omim",) if p != self.target and "OMIM:" in accept)]

    def normalize(self, text: str, label: str | None = None, abbreviations: dict[str, str] | None = None) -> Normalized:
        """The ids for one mention.

        Args:
            text: the mention as written.
            label: its entity label (``DISEASE``, ``DRUG``, ...), which restricts fuzzy matching.
            abbreviations: the document's abbreviations (:func:`find_abbreviations`).
        """
        found = self._routes(text, label, abbreviations)
        if self.reranker is not None and len(found.ids) <= 1 and label in self.reranker.labels \
                and found.route in self.reranker.routes:
            candidates = self.candidates.candidates(text, label, abbreviations, found)
            if candidates:
                best = candidates[int(self.reranker.scores(candidates).argmax())].concept_id
                if found.ids != (best,):
                    found = Normalized((best,), "reranked")
        if self.medic_era and found.ids and label not in ("DRUG", "CHEMICAL"):  # MEDIC names diseases
            ids = tuple(dict.fromkeys(self.medic_era_id(i, text) for i in found.ids))
            if ids != found.ids:
                found = Normalized(ids, found.route)
        return found

    def newest_medic_descriptor(self) -> int | None:
        """The number of the newest MeSH descriptor MEDIC names in the graph (``D065008`` for
        MEDIC 2012-07-06: 65008); None when the graph has no MEDIC names."""
        if self._newest is None:
            rows = self.kg.query("SELECT DISTINCT concept_id FROM synonyms WHERE source = 'medic' "
                                 "AND concept_id LIKE 'MESH:D%'")
            numbers = [_descriptor_number(r[0]) for r in rows]
            self._newest = max((n for n in numbers if n is not None), default=-1)
        return self._newest if self._newest >= 0 else None

    def medic_era_id(self, concept_id: str, text: str = "") -> str:
        """``concept_id`` as MEDIC's MeSH knew it: a descriptor newer than MEDIC's newest (MeSH
        created Cytopenia, ``D000095542``, in 2024; MEDIC and the corpora coded with it say
        Hematologic Diseases, ``D006402``) becomes its nearest broader concept (``is_a``, up to
        :data:`MEDIC_ERA_DEPTH` steps) that is not newer; among several at the same distance, the
        one whose name is closest to ``text`` (rapidfuzz token-set ratio). Other ids, and ids
        with no such broader concept, are returned unchanged."""
        newest = self.newest_medic_descriptor()
        number = _descriptor_number(concept_id)
        if newest is None or number is None or number <= newest or concept_id in self._annotated_ids():
            return concept_id
        from rapidfuzz import fuzz

        level, seen = [concept_id], {concept_id}
        for _ in range(MEDIC_ERA_DEPTH):
            parents: list[str] = []
            for cid in level:
                try:
                    rels = self.kg.relations(cid, predicate="is_a", direction="out")
                except KnowledgeGraphError:
                    rels = []
                parents += [r.object for r in rels if r.object not in seen and r.object.startswith("MESH:")]
            seen.update(parents)
            old = sorted(p for p in set(parents) if (_descriptor_number(p) or 0) <= newest)
            if old:
                low = text.lower()

                def closeness(cid: str) -> float:
                    concept = self.kg.concept(cid)
                    return fuzz.token_set_ratio(low, concept.name.lower()) if concept is not None else 0.0

                return max(old, key=lambda c: (closeness(c), [-ord(ch) for ch in c]))
            level = sorted(set(parents))
            if not level:
                break
        return concept_id

    def _routes(self, text: str, label: str | None = None, abbreviations: dict[str, str] | None = None,
                _inner: bool = False) -> Normalized:
        """The routes in their fixed order (:meth:`normalize` without the reranker)."""
        abbreviations = abbreviations or {}
        coded = self.composite_ids_of(text, label)
        if coded:
            return Normalized(coded, "composite")
        seen = self._annotated(text, label)
        if seen and text in abbreviations and not self._names_fit(seen, abbreviations[text]):
            # the document defines the short form as something else than it meant in training ("FAP")
            inner = self._routes(abbreviations[text], label, None, _inner=True)
            if inner.ids:
                return Normalized(inner.ids, "abbreviation")
        if seen:
            return Normalized((seen,), "annotated")
        if text in abbreviations:
            found = self._annotated(abbreviations[text], label) or self._one(abbreviations[text], label, strong=False)
            if found:
                return Normalized((found,), "abbreviation")
        parts = split_composite(text)
        if len(parts) > 1:  # every conjunct names its own concept: annotators code each of them
            ids = [self._one(p, label, strong=True) or self._variants(p, label) for p in parts]
            if all(ids) and len(set(ids)) > 1:
                return Normalized(tuple(dict.fromkeys(ids)), "composite")  # type: ignore[arg-type]
        first, reordered = self._one_reordered(text, label, strong=True)
        if first:  # an exception to the linker's order is not the reranker's to overturn
            return Normalized((first,), "own_name" if reordered else "link")
        if len(parts) > 1:  # each conjunct by every route (a conjunct has no conjunction left to split)
            ids = [i for p in parts for i in self._routes(p, label, abbreviations, _inner=True).ids[:1]]
            ids = list(dict.fromkeys(ids))
            if ids:
                return Normalized(tuple(ids), "composite")
        found = self._variants(text, label)
        if found:
            return Normalized((found,), "variant")
        if self.semantic_first:
            found = self._nearest(text, label)
            if found:
                return Normalized((found,), "semantic")
        weak = self._one(text, label, strong=False)
        if weak:
            return Normalized((weak,), "link")
        words = text.split()
        for i in range(1, len(words)):  # the head: "congenital cataract" -> "cataract"
            found = self._one(" ".join(words[i:]), label, strong=True)
            if found:
                return Normalized((found,), "head")
        if not self.semantic_first:
            found = self._nearest(text, label)
            if found:
                return Normalized((found,), "semantic")
        if not _inner and any(w in abbreviations for w in words):  # "DMD defects"
            expanded = " ".join(abbreviations.get(w, w) for w in words)
            inner = self._routes(expanded, label, None, _inner=True)
            if inner.ids:
                return Normalized(inner.ids, "abbreviation")
        return Normalized((), "none")

    def composite_ids_of(self, text: str, label: str | None) -> tuple[str, ...]:
        """The ids of the composite coding the training annotators gave this text most often -- when
        it has several ids and more than half of the text's codings; else ``()``. Same key as the
        annotated route (case, plural and punctuation ignored)."""
        if self._composite_keys is None:
            from collections import Counter

            counts: dict[tuple[str, bool], Counter] = {}
            for mention, kind, ids, n in self._composite_rows:
                counts.setdefault((self._key(mention), kind == "Chemical"), Counter())[ids] += n
            self._composite_keys = {}
            for key, c in counts.items():
                (ids, n), total = c.most_common(1)[0], sum(c.values())
                if len(ids) > 1 and 2 * n > total and all(i.startswith(self.accept) for i in ids):
                    self._composite_keys[key] = ids
        if not self._composite_keys:
            return ()
        return self._composite_keys.get((self._key(text), label in ("DRUG", "CHEMICAL")), ())

    def _names_fit(self, concept_id: str, long_form: str) -> bool:
        """Whether ``long_form`` is close to a name or synonym of the concept (rapidfuzz
        token-set ratio at least :data:`LONG_FORM_FIT`)."""
        from rapidfuzz import fuzz

        rows = self.kg.query("SELECT text FROM synonyms WHERE concept_id = ? UNION "
                             "SELECT name FROM concepts WHERE id = ?", [concept_id, concept_id])
        low = long_form.lower()
        return any(fuzz.token_set_ratio(low, r[0].lower()) >= LONG_FORM_FIT for r in rows if r[0])

    def _nearest(self, text: str, label: str | None) -> str | None:
        """The concept of the nearest embedded concept text, when its cosine reaches the threshold."""
        if self.semantic is None or (label is not None and label not in self.semantic.labels):
            return None
        near = self.semantic.nearest(text, k=SEMANTIC_K)
        if not near:
            return None
        annotated = self._annotated_ids()

        def rank(n) -> float:  # annotators' concepts and MeSH descriptors first, by a small margin
            return n.score + (SEMANTIC_ANNOTATED_BONUS if n.concept_id in annotated else 0.0) \
                + (SEMANTIC_DESCRIPTOR_BONUS if n.concept_id.startswith("MESH:D") else 0.0)

        best = max(near, key=rank)
        return best.concept_id if best.score >= self.semantic_threshold else None

    def _annotated_ids(self) -> set[str]:
        """Ids the training corpora's annotators used (concepts with ``mentions`` synonyms)."""
        if self._annotated_set is None:
            self._annotated_set = {r[0] for r in self.kg.query(
                "SELECT DISTINCT concept_id FROM synonyms WHERE source = 'mentions'")}
        return self._annotated_set

    def _annotated(self, text: str, label: str | None) -> str | None:
        """The id annotators gave this text in the training corpora (``mention`` synonyms of
        source ``mentions``; same key: case, plural and punctuation ignored), for a concept of
        the label's family; None when they gave none or several."""
        ids = self.annotated_ids_of(text, label)
        return ids[0] if len(ids) == 1 else None

    def accepted_ids(self, concept_id: str) -> list[str]:
        """``concept_id`` when it is of the accepted vocabularies, else its ids there
        (:meth:`KnowledgeGraph.map_to`, no broader concepts)."""
        if concept_id.startswith(self.accept):
            return [concept_id]
        try:
            mapped = self.kg.map_to(concept_id, self.target, broader=0)
        except KnowledgeGraphError:
            return []
        return [m.concept_id for m in mapped if m.concept_id.startswith(self.accept)]

    def annotated_ids_of(self, text: str, label: str | None) -> list[str]:
        """Every id annotators gave this text (same key as :meth:`normalize`'s first route), sorted."""
        if self._mention_keys is None:
            table: dict[tuple[str, bool], set[str]] = {}
            rows = self.kg.query("SELECT s.concept_id, s.text, c.label FROM synonyms s JOIN concepts c "
                                 "ON c.id = s.concept_id WHERE s.source = 'mentions'")
            for cid, syn, lab in rows:
                if cid.startswith(self.accept):
                    table.setdefault((self._key(syn), lab == "DRUG"), set()).add(cid)
            self._mention_keys = table
        return sorted(self._mention_keys.get((self._key(text), label in ("DRUG", "CHEMICAL")), set()))

    def _key(self, text: str) -> str:
        tokens = [t.text for t in self.linker.nlp.make_doc(text)] if self.linker.nlp is not None else text.split()
        return key_of_tokens(tokens)

    def _variants(self, text: str, label: str | None) -> str | None:
        for v in spelling_variants(text):
            found = self._one(v, label, strong=True)
            if found:
                return found
        return None

    def _one(self, text: str, label: str | None, strong: bool) -> str | None:
        """:meth:`_one_reordered`'s id."""
        return self._one_reordered(text, label, strong)[0]

    def _one_reordered(self, text: str, label: str | None, strong: bool) -> tuple[str | None, bool]:
        """The first accepted id the linker gives ``text``; with ``strong``, only from the
        exact, normalized and abbreviation routes (no fuzzy or partial match).

        With ``own_name`` (not for DRUG/CHEMICAL mentions), among the strong links a concept of the
        first one's vocabulary whose own name is the mention (same key: case, plural, punctuation)
        comes before one that holds the mention only as a synonym or a MEDIC mention
        ("Dejerine-Sottas syndrome" is the name of MeSH C538392 and an entry term of Hereditary
        Sensory and Motor Neuropathy, D015417, which the linker ranks first as an exact synonym).
        Returns (id or None, whether that exception chose it)."""
        strong_ids: list[tuple[str, str]] = []  # (accepted id, the linker's concept name) of strong links
        for link in self.linker.link_text(text, label):
            if strong and link.method in ("fuzzy", "partial"):
                break
            if link.concept_id.startswith(self.accept):
                ids = [link.concept_id]
            else:
                try:
                    mapped = self.kg.map_to(link.concept_id, self.target, broader=0)
                except KnowledgeGraphError:  # the graph lacks the target vocabulary: nothing to map to
                    mapped = []
                ids = [m.concept_id for m in mapped if m.concept_id.startswith(self.accept)][:1]
            if not ids:
                continue
            if not strong or link.method not in _STRONG_METHODS:
                return (ids[0] if not strong_ids else strong_ids[0][0]), False
            if not self.own_name or label in ("DRUG", "CHEMICAL"):
                return ids[0], False
            strong_ids.append((ids[0], link.name if ids[0] == link.concept_id else ""))
        if not strong_ids:
            return None, False
        chosen = self._reorder_strong(text, label, strong_ids)
        return chosen, chosen != strong_ids[0][0]

    def _reorder_strong(self, text: str, label: str | None, strong_ids: list[tuple[str, str]]) -> str:
        """The id :meth:`_one_reordered` gives among the strong links' accepted ids and concept names
        (in the linker's order; the name is empty for an id mapped from another vocabulary)."""
        first = strong_ids[0][0]
        if not self.own_name or label in ("DRUG", "CHEMICAL") or len(strong_ids) < 2:
            return first  # drugs: BC5CDR codes "lactate" as Lactic Acid, not Lactates (train hold-out)
        key = self._key(text)
        if self._key(strong_ids[0][1]) == key:
            return first
        vocabulary = first.split(":", 1)[0]
        for cid, name in strong_ids[1:]:
            if name and cid.split(":", 1)[0] == vocabulary and self._key(name) == key:
                return cid
        return first
