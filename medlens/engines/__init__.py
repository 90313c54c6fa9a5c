"""Scale-out: one batch job (shards in, atomic partitions out, exactly once) on two engines.

- :mod:`medlens.engines.sources`: folders, JSONL, CSV, Parquet and SQL, in a fixed order.
- :mod:`medlens.engines.job`: the driver, the partitions and the local process-pool engine.
- :mod:`medlens.engines.ray_engine`: the same job on a Ray cluster (the ``ray`` extra).
- :mod:`medlens.engines.tables`: results as Arrow tables with nested columns (Parquet).

``medlens batch`` is the command; see docs/scale.md.
"""

from medlens.engines.job import JobReport, LocalEngine, read_partitions, run_job
from medlens.engines.sources import SourceSpec, make_source

__all__ = ["JobReport", "LocalEngine", "SourceSpec", "make_source", "read_partitions", "run_job"]
