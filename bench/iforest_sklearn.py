"""scikit-learn's side of bench/iforest_bench.ts (run by it; Debian's /usr/bin/python3).

    /usr/bin/python3 bench/iforest_sklearn.py OUT_DIR [RECORDS]

Fits IsolationForest(n_estimators=100, max_samples=256) on 8 seeded pump-like features,
exports it with tools/export_sklearn_iforest.py to OUT_DIR/model.json, writes RECORDS
(default 1,000,000) records to OUT_DIR/records.f64 (row-major little-endian float64), times
`score_samples` on them single-threaded (best of 3), writes its scores to OUT_DIR/scores.f64
and prints one JSON line: {"records", "features", "trees", "seconds", "sklearn"}.
"""

import json
import os
import sys
import time

# One thread everywhere (numpy's BLAS and any OpenMP code), set before numpy loads.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.ensemble import IsolationForest  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from export_sklearn_iforest import export_model  # noqa: E402

FEATURES = ["pressure_in", "pressure_out", "flow", "temperature", "vibration_x", "vibration_y",
            "current", "speed"]


def records(rng, n):
    load = rng.uniform(0.6, 1.0, n)
    cols = [1.2 + rng.normal(0, 0.05, n), 4.5 * load ** 2 + rng.normal(0, 0.08, n),
            120 * load + rng.normal(0, 2, n), 40 + 15 * load + rng.normal(0, 0.7, n),
            0.8 + 0.6 * load + rng.normal(0, 0.05, n), 0.7 + 0.5 * load + rng.normal(0, 0.05, n),
            18 * load + rng.normal(0, 0.3, n), 1450 * load + rng.normal(0, 8, n)]
    x = np.column_stack(cols)
    # 1 % broken-machine records: one sensor far off.
    k = n // 100
    rows = rng.choice(n, k, replace=False)
    x[rows, rng.integers(0, 8, k)] *= rng.choice([0.3, 1.8], k)
    return x


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2026)
    forest = IsolationForest(n_estimators=100, max_samples=256, random_state=1, n_jobs=1)
    forest.fit(records(rng, 10_000))
    export_model(forest, os.path.join(out, "model.json"), FEATURES)
    x = records(rng, n)
    x.astype("<f8").tofile(os.path.join(out, "records.f64"))
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        scores = forest.score_samples(x)
        best = min(best, time.perf_counter() - t0)
    scores.astype("<f8").tofile(os.path.join(out, "scores.f64"))
    print(json.dumps({"records": n, "features": len(FEATURES), "trees": 100, "seconds": best,
                      "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
