"""Knowledge from text: relation extraction between the linked concepts of a document, and the grown layer
of the knowledge graph (``medlens kg grow``). See docs/relations.md."""

from medlens.doc.types import Relation

__all__ = ["Relation"]
