"""``medlens.load()`` freezes the process's heap once (``gc.freeze``) unless ``MEDLENS_GC_FREEZE=0``: fresh interpreters,
since the test process has loaded pipelines already."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ("import gc, sys, medlens\n"
          "before = gc.get_freeze_count()\n"
          "nlp = medlens.load(kg_path=sys.argv[1], components=('sections', 'sentences'))\n"
          "first = gc.get_freeze_count()\n"
          "medlens.load(kg_path=sys.argv[1], components=('sections', 'sentences'))\n"
          "print(before, first, gc.get_freeze_count(), len(nlp('Denies chest pain.')))\n")


@pytest.mark.parametrize("value,frozen", [(None, True), ("0", False)])
def test_first_load_freezes_the_heap_once(tiny_kg_path, value, frozen):
    env = {k: v for k, v in os.environ.items() if k != "MEDLENS_GC_FREEZE"}
    if value is not None:
        env["MEDLENS_GC_FREEZE"] = value
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tiny_kg_path)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300, check=True).stdout.split()
    before, first, second, tokens = map(int, out[-4:])
    assert before == 0 and tokens == 4
    if frozen:
        assert first > 1000 and second == first  # the second load freezes nothing more
    else:
        assert first == second == 0
