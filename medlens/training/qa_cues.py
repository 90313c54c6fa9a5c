"""Fit the cue-count research-question model (:mod:`medlens.qa.cues`) and write it as JSON.

Standardised cue features (:func:`medlens.qa.cues.cue_features`) into a multinomial logistic regression
(scikit-learn, ``C=0.5``, lbfgs) on all the given questions. The JSON holds everything the torch-free,
scikit-learn-free runtime needs: feature names, mean and scale, coefficients, intercepts, class order.
Needs scikit-learn (the ``train`` extra); ``benchmarks/pubmedqa_cv.py --ship`` runs it with the CV figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from medlens.qa.cues import (
    CUES_FILE,
    KIND,
    TASK,
    cue_features,
    cue_rules,
    feature_names,
)
from medlens.qa.pairs import LABELS

MODEL_NAME = "cues-logreg-v1"
C = 0.5


def fit_scaled_logreg(X, y, C: float = C, class_weight=None):
    """``(StandardScaler, LogisticRegression)`` fitted on ``X``, ``y`` (the CV and the final model use this)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(X)
    return sc, LogisticRegression(C=C, max_iter=3000, class_weight=class_weight).fit(sc.transform(X), y)


def fit_cue_model(examples: Sequence, *, C: float = C, extra: dict | None = None) -> dict:
    """The cue model fitted on ``examples`` (objects with ``context`` and ``label``) as a JSON-ready dict.

    Args:
        examples: the training questions (e.g. :func:`medlens.training.qa.read_qa_examples`).
        C: the inverse regularisation strength.
        extra: more fields for the file (training data, CV figures).
    """
    import numpy as np
    import sklearn

    X = np.array([cue_features(e.context) for e in examples], dtype=np.float64)
    y = np.array([LABELS.index(e.label) for e in examples])
    sc, m = fit_scaled_logreg(X, y, C)
    if list(m.classes_) != list(range(len(LABELS))):
        raise ValueError(f"every label {list(LABELS)} needs a training example; got classes {list(m.classes_)}")
    return {
        "task": TASK, "kind": KIND, "name": MODEL_NAME,
        "labels": list(LABELS), "cues_file": CUES_FILE, "cues_digest": cue_rules(CUES_FILE)[2],
        "features": feature_names(CUES_FILE),
        "scaler": {"mean": [round(float(v), 8) for v in sc.mean_], "scale": [round(float(v), 8) for v in sc.scale_]},
        "coef": [[round(float(v), 8) for v in row] for row in m.coef_],
        "intercept": [round(float(v), 8) for v in m.intercept_],
        "maybe_margin": 0.0,
        "training": {"n": len(examples), "C": C, "solver": "lbfgs (multinomial)", "scikit_learn": sklearn.__version__,
                     **(extra or {})},
    }


def write_cue_model(model: dict, out: str | Path) -> Path:
    """Write the model dict to ``out`` (a folder gets ``cues.json``)."""
    out = Path(out)
    if out.suffix != ".json":
        out.mkdir(parents=True, exist_ok=True)
        out = out / "cues.json"
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    return out
