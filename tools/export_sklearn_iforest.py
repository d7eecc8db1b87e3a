"""Export a fitted scikit-learn IsolationForest to Vigil's `isolation-forest/v1` model file.

The estimator may be a bare `IsolationForest` or a `Pipeline` of a `StandardScaler` followed
by an `IsolationForest`. Feature sub-sampling (`max_features` < 1) is resolved here: each
tree's feature indices are mapped back to the model's input columns.

    from export_sklearn_iforest import export_model
    export_model(pipeline, "model.json", features=["rms", "peak_to_peak"])

or, for a pickled/joblib'd estimator:

    /usr/bin/python3 tools/export_sklearn_iforest.py fitted.joblib model.json [a,b,c]
"""

import json
import sys

from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def _split(estimator):
    """(scaler or None, forest) of an IsolationForest or a [StandardScaler,] IsolationForest pipeline."""
    if isinstance(estimator, IsolationForest):
        return None, estimator
    if isinstance(estimator, Pipeline):
        steps = [s for _, s in estimator.steps if s is not None and s != "passthrough"]
        if len(steps) == 1 and isinstance(steps[0], IsolationForest):
            return None, steps[0]
        if (len(steps) == 2 and isinstance(steps[0], StandardScaler)
                and isinstance(steps[1], IsolationForest)):
            return steps[0], steps[1]
    raise TypeError(
        f"expected an IsolationForest or a Pipeline(StandardScaler, IsolationForest), got {estimator!r}")


def to_model(estimator, features=None):
    """The model file's content (a dict) for a fitted estimator."""
    scaler, forest = _split(estimator)
    n = forest.n_features_in_
    if features is None:
        names = getattr(estimator, "feature_names_in_", None)
        features = [str(f) for f in names] if names is not None else [f"x{i}" for i in range(n)]
    features = list(features)
    if len(features) != n:
        raise ValueError(f"features: {len(features)} names for a model of {n} features")
    scaler_out = None
    if scaler is not None:
        mean = [float(m) for m in scaler.mean_] if scaler.with_mean else [0.0] * n
        # scikit-learn already stores 1 for a zero variance; with_std=False has no scale_.
        scale = [float(s) for s in scaler.scale_] if scaler.scale_ is not None else [1.0] * n
        scaler_out = {"mean": mean, "scale": scale}
    trees = []
    for tree, subset in zip(forest.estimators_, forest.estimators_features_):
        t = tree.tree_
        left = [int(v) for v in t.children_left]
        trees.append({
            "left": left,
            "right": [int(v) for v in t.children_right],
            # A tree sees only its feature subset: map its column index back to the input's.
            "feature": [int(subset[f]) if left[i] != -1 else -2 for i, f in enumerate(t.feature)],
            "threshold": [float(v) for v in t.threshold],
            "samples": [int(v) for v in t.n_node_samples],
        })
    return {
        "format": "isolation-forest/v1",
        "features": features,
        "scaler": scaler_out,
        "max_samples": int(forest.max_samples_),
        "offset": float(forest.offset_),
        "trees": trees,
    }


def export_model(estimator, path, features=None):
    """Writes the model file for a fitted estimator to `path`."""
    with open(path, "w") as f:
        json.dump(to_model(estimator, features), f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: export_sklearn_iforest.py FITTED.joblib MODEL.json [feature,names]")
    import joblib

    est = joblib.load(sys.argv[1])
    export_model(est, sys.argv[2], sys.argv[3].split(",") if len(sys.argv) == 4 else None)
