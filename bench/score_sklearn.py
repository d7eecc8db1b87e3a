"""scikit-learn's whole-process side of `deno task score` (run by bench/replay_peers.ts):

    /usr/bin/python3 bench/score_sklearn.py prepare OUT_DIR [RECORDS=200000]
    /usr/bin/python3 bench/score_sklearn.py score OUT_DIR/model.pkl INPUT.csv OUT.csv

`prepare` fits IsolationForest(n_estimators=100, max_samples=256) on the seeded pump-like
features of bench/iforest_sklearn.py, exports it for Vigil (OUT_DIR/model.json, with
tools/export_sklearn_iforest.py), pickles it (OUT_DIR/model.pkl) and writes RECORDS records as
OUT_DIR/input.csv. `score` is what a user would run instead of `deno task score`: read the CSV
(pandas), `score_samples` and `decision_function`, write the input's columns and both scores as
CSV. One thread (set before numpy loads).
"""

import os
import pickle
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))


def prepare(out, n):
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import IsolationForest

    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.join(HERE, "..", "tools"))
    from export_sklearn_iforest import export_model
    from iforest_sklearn import FEATURES, records

    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2026)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=1, n_jobs=1)
    forest.fit(pd.DataFrame(records(rng, 10_000), columns=FEATURES))
    export_model(forest, os.path.join(out, "model.json"), FEATURES)
    with open(os.path.join(out, "model.pkl"), "wb") as f:
        pickle.dump(forest, f)
    pd.DataFrame(records(rng, n), columns=FEATURES).to_csv(
        os.path.join(out, "input.csv"), index=False)


def score(model, path, out):
    import pandas as pd

    with open(model, "rb") as f:
        forest = pickle.load(f)
    df = pd.read_csv(path)
    x = df[list(forest.feature_names_in_)]
    df["score_samples"] = forest.score_samples(x)
    df["decision_function"] = forest.decision_function(x)
    df.to_csv(out, index=False)


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        prepare(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 200_000)
    else:
        score(sys.argv[2], sys.argv[3], sys.argv[4])
