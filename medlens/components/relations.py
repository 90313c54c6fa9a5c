"""Document-level relations between linked concepts, read by the shipped relation model (``medlens_relations``).

The model (``medlens/assets/relations/``, int8 ONNX; :mod:`medlens.relations.model`) reads
the whole document with every chemical and disease entity marked, and scores every
(chemical concept, disease concept) pair of the document: ``induces`` (chemical induces
disease, trained on BioCreative V CDR). An entity's concepts are its MeSH ids, found in one of
two ways (``ids``):

* ``normalizer`` (default): the :class:`~medlens.components.mention_ids.MentionNormalizer`
  reads the entity's text and label with the document's abbreviations
  (:func:`~medlens.components.mention_ids.find_abbreviations`): long forms of abbreviations,
  composite mentions split into one id per concept named ("breast and ovarian cancer": two),
  spelling variants and, with ``semantic`` (off by default), the nearest disease name by meaning
  (:class:`~medlens.components.mention_semantic.SemanticIndex`: "artery calcification" ->
  Vascular Calcification); an entity it finds nothing for takes its id the ``links`` way;
* ``links``: its first concept link of that vocabulary, or the first link mapped with
  :meth:`~medlens.kg.store.KnowledgeGraph.map_to` (without climbing).

An entity without any takes part under its first link's own id when ``fallback_ids`` is set.
With the ``normalizer`` way and ``table_mentions`` (off by default), the training corpora's annotated
mention texts written where no chemical or disease entity is (:meth:`RelationExtractor.table_matches`)
are mentions too: the recognizer's misses in abstracts like the corpora's.
The normalizer needs the graph and the MeSH vocabulary; without a graph, or for another
vocabulary, the ``links`` way is used. Pairs whose disease
is a MeSH ancestor of another found disease of the same chemical are dropped
(``hypernym_filter``; CDR annotates the most specific disease).

Each relation found is appended to ``doc._.relations`` (what other components wrote there
is kept) as a :class:`~medlens.doc.types.Relation`: the two concept ids, the pair of their
mentions written nearest each other, the probability, and the evidence: the sentence
holding both mentions, or the sentence of each.

Optional (not in the default pipeline: it is a second transformer pass over every
document): ``medlens.load(components=[*COMPONENTS, "relations"])``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from medlens.components.mention_ids import MentionNormalizer, find_abbreviations
from medlens.doc import extensions
from medlens.doc.types import Relation
from medlens.errors import ConfigError, Errors, KnowledgeGraphError, PipelineError
from medlens.relations.encoding import Mention, split_sentences
from medlens.relations.model import RelationModel
from medlens.runtime import RELATIONS_DIR

KIND_OF_LABEL = {"DRUG": "chemical", "CHEMICAL": "chemical", "DISEASE": "disease", "SYMPTOM": "disease",
                 "FINDING": "disease"}
"""Entity labels read as the model's mention kinds (other labels take no part)."""

ID_WAYS = ("normalizer", "links")
"""How the component finds an entity's concept ids (its ``ids`` setting)."""

TABLE_MIN_CHARS = 4
"""Shortest annotated mention text :meth:`RelationExtractor.table` keeps."""
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)


@Language.factory(
    "medlens_relations",
    assigns=["doc._.relations"],
    requires=["doc.ents", "span._.concepts"],
    default_config={"model_path": None, "kg_path": None, "threshold": None, "hypernym_filter": True,
                    "vocabulary": "mesh", "fallback_ids": False, "ids": "normalizer", "semantic": False,
                    "table_mentions": False, "threads": None, "max_pieces": 2048},
)
def make_relations(nlp: Language, name: str, model_path: str | None, kg_path: str | None, threshold: float | None,
                   hypernym_filter: bool, vocabulary: str, fallback_ids: bool, ids: str, semantic: bool,
                   table_mentions: bool, threads: int | None, max_pieces: int) -> RelationExtractor:
    extensions.register()
    from medlens.pipeline import shared_graph

    model = RelationModel.from_path(model_path or RELATIONS_DIR, threads=threads, max_pieces=max_pieces)
    return RelationExtractor(nlp, name=name, model=model, kg=shared_graph(kg_path), threshold=threshold,
                             hypernym_filter=hypernym_filter, vocabulary=vocabulary, fallback_ids=fallback_ids,
                             ids=ids, semantic=semantic, table_mentions=table_mentions)


class RelationExtractor:
    """Finds document-level relations between the concepts of a document's entities.

    Args:
        nlp: the pipeline (unused beyond the contract).
        name: component name.
        model: the loaded :class:`~medlens.relations.model.RelationModel`.
        kg: the knowledge graph (ids of the vocabulary through ``map_to``; MeSH tree numbers for the
            hypernym filter); None: only ids the links already give, and no hypernym filter.
        threshold: decision threshold on the probability (None: the model's, chosen on held-out documents).
        hypernym_filter: drop a pair whose disease is a MeSH ancestor of another found disease of the
            same chemical.
        vocabulary: the vocabulary of the concept ids the model pairs (``mesh``: the model was trained on
            MeSH-coded mentions).
        fallback_ids: an entity with no id of ``vocabulary`` takes part under its first link's id
            (default: it takes no part).
        ids: how an entity's ids are found: ``normalizer`` (the mention normalizer with the
            document's abbreviations, then the links) or ``links`` (the first link of the
            vocabulary, or the first link mapped); see the module docstring.
        semantic: the ``normalizer`` way ends with the semantic route (a disease, finding or symptom
            mention no spelling route resolves takes the concept of its nearest disease name by
            sentence-encoder cosine, :data:`~medlens.components.mention_ids.SEMANTIC_THRESHOLD`): True
            builds a :class:`~medlens.components.mention_semantic.SemanticIndex` over the
            graph on first need (the first use on a machine embeds ~90,000 names: minutes on 2 cores,
            then cached on disk); an index object is used as given; False (default): no semantic route.
            Off by default: on CDR dev end to end it lowered F1 48.6 -> 47.2 (benchmarks/README.md,
            "Relation extraction end to end, round 6").
        table_mentions: with the ``normalizer`` way, the training corpora's annotated mention texts
            (:meth:`table`: CDR and NCBI-disease train) written in the document where no chemical or
            disease entity is are mentions too (their ids by the normalizer): a recall route for what
            the recognizer misses. Off by default (CDR dev end to end, with ``semantic``: 47.2 -> 47.5;
            the round-5 component 48.6).
    """

    def __init__(self, nlp: Language | None, name: str = "medlens_relations", *, model: RelationModel, kg=None,
                 threshold: float | None = None, hypernym_filter: bool = True, vocabulary: str = "mesh",
                 fallback_ids: bool = False, ids: str = "normalizer", semantic=False,
                 table_mentions: bool = False) -> None:
        extensions.register()
        if ids not in ID_WAYS:
            raise ConfigError(Errors.E003.format(details=f"medlens_relations ids must be one of {', '.join(ID_WAYS)}, "
                                                         f"got {ids!r}"))
        self.ids = ids
        self.semantic = semantic
        self.table_mentions = table_mentions
        self._table: dict[str, str] | None = None
        self._table_words = 0
        self.nlp = nlp
        self.name = name
        self.model = model
        self.kg = kg
        self.threshold = threshold
        self.vocabulary = vocabulary
        self.prefix = "MESH:" if vocabulary == "mesh" else None
        self.fallback_ids = fallback_ids
        self.trees = None
        self.mesh_trees = None  # MeSH tree numbers: the hypernym filter's, and a feature of the model's stacker
        if kg is not None and (hypernym_filter or getattr(model, "stacker", None) is not None):
            from medlens.relations.trees import mesh_trees

            self.mesh_trees = mesh_trees(kg)
            self.trees = self.mesh_trees if hypernym_filter else None
        self._mapped: dict[str, str | None] = {}
        self._normalizer: MentionNormalizer | None = None
        self.method = f"model:relations-{model.meta.get('corpus', 'cdr')}"

    def concept_id(self, ent: Span) -> str | None:
        """The id under which ``ent`` takes part (see the module docstring), or None."""
        links = ent._.concepts
        if links is None:
            raise PipelineError(Errors.E309.format(needs="medlens_linker", name=self.name))
        if not links:
            return None
        for link in links:
            if self.prefix is None or link.concept_id.startswith(self.prefix):
                return link.concept_id
        first = links[0].concept_id
        if first not in self._mapped:
            mapped = None
            if self.kg is not None:
                try:
                    found = self.kg.map_to(first, self.vocabulary, broader=0)
                except KnowledgeGraphError:  # the graph lacks the concept or the vocabulary
                    found = []
                mapped = found[0].concept_id if found else None
            self._mapped[first] = mapped
        return self._mapped[first] or (first if self.fallback_ids else None)

    @property
    def normalizer(self) -> MentionNormalizer | None:
        """The mention normalizer of the ``normalizer`` way (built on first use: a linker of its own over
        the graph, sharing the graph's match index; the pipeline's linker is left as configured), or
        None when the ``links`` way applies."""
        if self.ids != "normalizer" or self.kg is None or self.prefix is None:
            return None
        if self._normalizer is None:
            from medlens.components.linker import EntityLinker

            linker = EntityLinker(self.nlp, name=f"{self.name}_normalizer", kg=self.kg)
            self._normalizer = MentionNormalizer(linker, self.kg, target=self.vocabulary, accept=(self.prefix,),
                                                 semantic=self.semantic or None)
        return self._normalizer

    def concept_ids(self, ent: Span, abbreviations: dict[str, str] | None = None) -> tuple[str, ...]:
        """The ids under which ``ent`` takes part: the normalizer's (several for a composite
        mention) when the ``normalizer`` way applies and finds any, else :meth:`concept_id`'s.

        Args:
            ent: an entity with concept links.
            abbreviations: its document's abbreviations (:func:`find_abbreviations`; None: found here).
        """
        if ent._.concepts is None:
            raise PipelineError(Errors.E309.format(needs="medlens_linker", name=self.name))
        norm = self.normalizer
        if norm is not None:
            if abbreviations is None:
                abbreviations = find_abbreviations(ent.doc.text)
            found = norm.normalize(ent.text, ent.label_, abbreviations).ids
            if found:
                return found
        cid = self.concept_id(ent)
        return (cid,) if cid else ()

    def mentions(self, doc: Doc) -> tuple[list[Mention], list[Span]]:
        """The model's mentions of ``doc`` (entities of a known kind with an id, then, with
        ``table_mentions``, the annotated mentions no such entity covers) and their spans."""
        out, spans = [], []
        abbreviations = find_abbreviations(doc.text) if self.normalizer is not None else None
        for ent in doc.ents:
            kind = KIND_OF_LABEL.get(ent.label_)
            if kind is None:
                continue
            ids = self.concept_ids(ent, abbreviations)
            if not ids:
                continue
            out.append(Mention(ent.start_char, ent.end_char, kind, ids))
            spans.append(ent)
        if self.table_mentions and self.normalizer is not None:
            taken = [(m.start, m.end) for m in out]
            for start, end, kind in self.table_matches(doc.text):
                if any(s < end and start < e for s, e in taken):
                    continue
                span = doc.char_span(start, end, label="CHEMICAL" if kind == "chemical" else "DISEASE")
                if span is None:
                    continue
                ids = self.normalizer.normalize(span.text, span.label_, abbreviations).ids
                if ids:
                    out.append(Mention(start, end, kind, ids))
                    spans.append(span)
                    taken.append((start, end))
            order = sorted(range(len(out)), key=lambda i: (out[i].start, out[i].end))
            out, spans = [out[i] for i in order], [spans[i] for i in order]
        return out, spans

    def table(self) -> dict[str, str]:
        """Lower-cased annotated mention text -> its kind (``chemical``, ``disease``): the graph's
        ``mention`` synonyms (source ``mentions``: the training corpora's annotated mentions) of at
        least :data:`TABLE_MIN_CHARS` characters with a lower-case letter (short forms such as "DM"
        or "WAS" are left out: ambiguous) whose concepts are of one kind."""
        if self._table is None:
            kinds: dict[str, set[str]] = {}
            if self.kg is not None:
                rows = self.kg.query("SELECT s.text, c.label FROM synonyms s JOIN concepts c ON c.id = s.concept_id "
                                     "WHERE s.source = 'mentions'")
                for text, label in rows:
                    key = " ".join((text or "").lower().split())
                    kind = KIND_OF_LABEL.get(label, "disease")
                    if len(key) >= TABLE_MIN_CHARS and any(c.islower() for c in text):
                        kinds.setdefault(key, set()).add(kind)
            self._table = {k: next(iter(v)) for k, v in kinds.items() if len(v) == 1}
            self._table_words = max((len(_TOKEN.findall(k)) for k in self._table), default=0)
        return self._table

    def table_matches(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, kind)`` of the longest non-overlapping annotated mentions (:meth:`table`)
        written in ``text``, case ignored, starting and ending on word boundaries."""
        table = self.table()
        if not table:
            return []
        tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
        low = text.lower()
        out, i = [], 0
        while i < len(tokens):
            start = tokens[i][0]
            hit = None
            if start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "-"):
                for j in range(min(len(tokens), i + self._table_words) - 1, i - 1, -1):
                    end = tokens[j][1]
                    if end < len(text) and (text[end].isalnum() or text[end] == "-"):
                        continue
                    kind = table.get(" ".join(low[start:end].split()))
                    if kind is not None:
                        hit = (start, end, kind, j)
                        break
            if hit is None:
                i += 1
                continue
            out.append(hit[:3])
            i = hit[3] + 1
        return out

    @staticmethod
    def sentences(doc: Doc) -> list[tuple[int, int]]:
        """Sentence spans: the pipeline's sentences when it set them, else :func:`split_sentences`."""
        if doc.has_annotation("SENT_START"):
            return [(s.start_char, s.end_char) for s in doc.sents]
        return split_sentences(doc.text)

    def predict(self, docs: Sequence[Doc]) -> list[list[Relation]]:
        """The relations of each doc (pure: writes nothing)."""
        inputs = []
        for doc in docs:
            mentions, _ = self.mentions(doc)
            inputs.append(self.model.encode(doc.text, mentions, sentences=self.sentences(doc)))
        found = self.model.predict(inputs, threshold=self.threshold, trees=self.trees, texts=[d.text for d in docs],
                                   feature_trees=self.mesh_trees)
        out = []
        for doc, enc, pairs in zip(docs, inputs, found):
            rels = []
            for p in pairs:
                h, t = enc.mentions[p.head_mention], enc.mentions[p.tail_mention]
                sh = _sentence_index(enc.sentences, h.start)
                st = _sentence_index(enc.sentences, t.start)
                evidence = tuple(enc.sentences[i] for i in sorted({sh, st}))
                rels.append(Relation(head_id=p.head_id, tail_id=p.tail_id, head=doc.text[h.start:h.end],
                                     tail=doc.text[t.start:t.end], head_start=h.start, head_end=h.end,
                                     tail_start=t.start, tail_end=t.end, predicate=self.model.predicate,
                                     score=round(p.score, 4), evidence=evidence, method=self.method))
            out.append(rels)
        return out

    def set_annotations(self, docs: Sequence[Doc], relations: Sequence[list[Relation]]) -> None:
        """Append each doc's relations to ``doc._.relations`` (other components' relations are kept)."""
        for doc, rels in zip(docs, relations):
            doc._.relations = tuple(doc._.relations or ()) + tuple(rels)

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 16) -> Iterable[Doc]:
        for batch in minibatch(docs, size=batch_size):
            self.set_annotations(batch, self.predict(batch))
            yield from batch


def _sentence_index(sentences: Sequence[tuple[int, int]], pos: int) -> int:
    best = 0
    for i, (s, _e) in enumerate(sentences):
        if s <= pos:
            best = i
        else:
            break
    return best
