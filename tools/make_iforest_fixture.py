"""Generate the scikit-learn parity fixture in tests/fixtures/iforest/ (committed data).

    /usr/bin/python3 tools/make_iforest_fixture.py     # Debian's python3-sklearn

Two models, each with its input records and scikit-learn's own scores of them:

- `pump`: eight pump sensors, Pipeline(StandardScaler, IsolationForest(max_features=0.75)),
  so every tree sees six of the eight columns;
- `vibration`: three vibration features, a bare IsolationForest (no scaler).

Inputs hold normal records, planted outliers and "float32 cases": records whose value on a
tree root's feature lies between the root threshold and that threshold's float32 neighbour,
so a scorer that compares in float64 sends them down the wrong subtree. Each input row says
which kind it is (`kind` column). Expected files: `score_samples,decision_function` per row,
written with repr (shortest round-trip), so the test compares the exact doubles.
"""

import csv
import os
import subprocess
import sys

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_sklearn_iforest import export_model  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "iforest")

PUMP = ["pressure_in", "pressure_out", "flow", "temperature", "vibration_x", "vibration_y",
        "current", "speed"]
VIBRATION = ["rms", "peak_to_peak", "band_energy_1"]


def pump_data(rng, n):
    load = rng.uniform(0.6, 1.0, n)
    speed = 1450 * load + rng.normal(0, 8, n)
    flow = 120 * load + rng.normal(0, 2, n)
    p_in = 1.2 + rng.normal(0, 0.05, n)
    p_out = p_in + 4.5 * load ** 2 + rng.normal(0, 0.08, n)
    temp = 40 + 15 * load + rng.normal(0, 0.7, n)
    vx = 0.8 + 0.6 * load + rng.normal(0, 0.05, n)
    vy = 0.7 + 0.5 * load + rng.normal(0, 0.05, n)
    current = 18 * load + rng.normal(0, 0.3, n)
    return np.column_stack([p_in, p_out, flow, temp, vx, vy, current, speed])


def vibration_data(rng, n):
    rms = rng.gamma(9.0, 0.05, n)
    p2p = 2.9 * rms + rng.normal(0, 0.04, n)
    band = 0.3 * rms ** 2 + rng.normal(0, 0.01, n)
    return np.column_stack([rms, p2p, band])


def scaled(est, x):
    return est[0].transform(x) if isinstance(est, Pipeline) else x


def forest_of(est):
    return est[-1] if isinstance(est, Pipeline) else est


def float32_cases(est, x_train, count):
    """Records that a float64 comparison routes differently from scikit-learn's float32 one."""
    forest = forest_of(est)
    base = np.median(x_train, axis=0)
    out = []
    for tree, subset in zip(forest.estimators_, forest.estimators_features_):
        t = tree.tree_
        if t.children_left[0] == -1:
            continue
        f = int(subset[t.feature[0]])
        thr = float(t.threshold[0])
        if isinstance(est, Pipeline):
            mean, scale = est[0].mean_[f], est[0].scale_[f]
            x0 = thr * scale + mean
        else:
            mean, scale, x0 = 0.0, 1.0, thr
        # Walk a few ulps around the threshold's pre-image for a value whose scaled float64
        # and float32 forms fall on different sides of the threshold.
        cand = x0
        for _ in range(64):
            cand = np.nextafter(cand, -np.inf)
        for _ in range(128):
            s = (cand - mean) / scale
            if (float(np.float32(s)) <= thr) != (s <= thr):
                rec = base.copy()
                rec[f] = cand
                out.append(rec)
                break
            cand = np.nextafter(cand, np.inf)
        if len(out) == count:
            break
    return np.array(out)


def naive_scores(est, x):
    """score_samples with float64 comparisons (what a scorer without the rounding computes)."""
    forest = forest_of(est)
    xs = scaled(est, x)

    def c(n):
        n = np.asarray(n, dtype=float)
        return np.where(n <= 1, 0.0, np.where(n == 2, 1.0,
                        2.0 * (np.log(np.maximum(n - 1.0, 1)) + np.euler_gamma) - 2.0 * (n - 1.0) / n))

    depths = np.zeros(len(xs))
    for tree, subset in zip(forest.estimators_, forest.estimators_features_):
        t = tree.tree_
        for i, row in enumerate(xs):
            node, d = 0, 1
            while t.children_left[node] != -1:
                go_left = row[subset[t.feature[node]]] <= t.threshold[node]
                node = t.children_left[node] if go_left else t.children_right[node]
                d += 1
            depths[i] += d + c(t.n_node_samples[node]) - 1.0
    return -(2 ** (-depths / (len(forest.estimators_) * c(forest.max_samples_))))


def write(name, features, est, x_in, kinds):
    export_model(est, os.path.join(OUT, f"{name}_model.json"), features)
    with open(os.path.join(OUT, f"{name}_input.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", *features])
        for k, row in zip(kinds, x_in):
            w.writerow([k, *[repr(float(v)) for v in row]])
    ss = est.score_samples(x_in)
    df = est.decision_function(x_in)
    with open(os.path.join(OUT, f"{name}_expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["score_samples", "decision_function"])
        for a, b in zip(ss, df):
            w.writerow([repr(float(a)), repr(float(b))])
    naive = naive_scores(est, x_in)
    differ = int(np.sum(naive != ss))
    f32 = int(np.sum(np.array(kinds) == "float32"))
    print(f"{name}: {len(x_in)} records ({f32} float32 cases), "
          f"float64-comparison scorer differs on {differ}; sklearn {sklearn.__version__}")
    if differ == 0:
        sys.exit(f"{name}: no record exercises the float32 rounding")


def deno_fmt():
    """Formats the model files as `deno fmt` does, so `deno fmt --check` passes on the tree."""
    models = [os.path.join(OUT, f"{n}_model.json") for n in ("pump", "vibration")]
    try:
        subprocess.run(["deno", "fmt", "--quiet", *models], check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"deno fmt failed ({e}): format {models} before committing")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261125)

    # pump: scaler pipeline, max_features < 1
    x = pump_data(rng, 400)
    pump = Pipeline([
        ("scaler", StandardScaler()),
        ("forest", IsolationForest(n_estimators=100, max_samples=128, max_features=0.75,
                                   random_state=7)),
    ]).fit(x)
    normal = pump_data(rng, 200)
    outliers = pump_data(rng, 20)
    outliers[np.arange(20), rng.integers(0, 8, 20)] *= rng.choice([0.3, 1.8], 20)
    cases = float32_cases(pump, x, 40)
    x_in = np.vstack([normal, outliers, cases])
    kinds = ["normal"] * len(normal) + ["outlier"] * len(outliers) + ["float32"] * len(cases)
    write("pump", PUMP, pump, x_in, kinds)

    # vibration: bare forest, all features
    v = vibration_data(rng, 300)
    vib = IsolationForest(n_estimators=100, max_samples=64, random_state=11).fit(v)
    normal = vibration_data(rng, 200)
    outliers = np.column_stack([rng.uniform(1.2, 2.0, 15), rng.uniform(0.1, 0.5, 15),
                                rng.uniform(0.0, 0.02, 15)])
    cases = float32_cases(vib, v, 40)
    x_in = np.vstack([normal, outliers, cases])
    kinds = ["normal"] * len(normal) + ["outlier"] * len(outliers) + ["float32"] * len(cases)
    write("vibration", VIBRATION, vib, x_in, kinds)
    deno_fmt()


if __name__ == "__main__":
    main()
