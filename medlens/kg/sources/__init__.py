"""One reader per knowledge source. Each returns :class:`SourceData` records
(pure: no database writes), which :mod:`medlens.kg.build` writes into a graph."""

from medlens.kg.sources.base import SourceData

__all__ = ["SourceData"]
