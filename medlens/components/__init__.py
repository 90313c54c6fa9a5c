"""spaCy components, one per file, registered as ``medlens_<name>`` factories.

Importing a component's module registers its factory with spaCy;
:func:`register_all` imports every one (``medlens.load()`` calls it).
"""

from __future__ import annotations

from importlib import import_module

MODULES = {
    "sections": "medlens.components.sections",
    "sentences": "medlens.components.sentences",
    "transformer_ner": "medlens.components.transformer_ner",
    "dictionary_ner": "medlens.components.dictionary_ner",
    "context": "medlens.components.context",
    "linker": "medlens.components.linker",
    "classifier": "medlens.components.classifier",
    "drug_attributes": "medlens.components.drug_attributes",
    "adverse_events": "medlens.components.adverse_events",
    "relations": "medlens.components.relations",
}


def register_all() -> None:
    """Import every component module so that its ``medlens_*`` factory is registered."""
    for module in MODULES.values():
        import_module(module)
