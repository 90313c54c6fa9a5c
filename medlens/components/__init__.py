"""spaCy components, one per file, registered as ``medlens_<name>`` factories.

Importing this package registers every factory with spaCy.
"""

from medlens.components import context, dictionary_ner, linker, sections, sentences  # noqa: F401
