"""The pandas batch job a user might run instead of `deno task replay` (bench/replay_peers.ts
runs it beside Vigil and bench/python_operator.py):

    /usr/bin/python3 bench/pandas_replay.py INPUT.jsonl OUT_DIR

Vectorised over the whole file: `read_json(lines=True)`, per-machine rolling mean (5) and slope,
a z-score against each channel's last 100 values, the default channel limits (alert range, max
delta, `activeStatuses`), alarm events on the readings where a flag comes on (the wording of
engine/detect/event_text.ts), every reading written back as JSON lines (stream_output.jsonl), a
processed row per machine every 10 s of event time (analysis_output.csv, Vigil's columns) and the
events (anomalies.jsonl). Needs Debian's python3-pandas. Prints one JSON line like the operator.
"""

import json
import os
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The same constants and channel limits as the stream operator.
from python_operator import CHANNELS, INTERVAL_MS, MODEL, TREND_TOL, WINDOW, Z  # noqa: E402


def main():
    path, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    df = pd.read_json(path, lines=True, convert_dates=False, dtype=False)
    df["ms"] = pd.to_datetime(df["timestamp"], utc=True).astype("int64") // 1_000_000
    with open(os.path.join(out, "stream_output.jsonl"), "w", encoding="utf-8") as f:
        f.write(df.drop(columns=["ms"]).to_json(orient="records", lines=True, force_ascii=False))
    by = df.groupby("machine", sort=False)
    events = []
    alerts = pd.Series([""] * len(df), index=df.index, dtype=object)
    health = pd.Series(1.0, index=df.index)
    idx = np.arange(WINDOW) - (WINDOW - 1) / 2
    den = (idx * idx).sum()
    for c, cfg in CHANNELS.items():
        g = by[c]
        mean = g.transform(lambda s: s.rolling(WINDOW, min_periods=1).mean())
        # The least-squares slope over the last WINDOW values, as a weighted sum of shifts.
        slope = sum(idx[WINDOW - 1 - k] * g.shift(k) for k in range(WINDOW)) / den
        slope = slope.fillna(0.0)
        m_mean = g.transform(lambda s: s.shift().rolling(MODEL, min_periods=WINDOW).mean())
        m_std = g.transform(lambda s: s.shift().rolling(MODEL, min_periods=WINDOW).std(ddof=0))
        z = ((df[c] - m_mean) / m_std).where(m_std > 1e-6, 0.0).fillna(0.0)
        delta = g.diff().fillna(0.0)
        active = (df["status"].isin(list(cfg["active"])) if cfg["active"]
                  else pd.Series(True, index=df.index))
        df[c + "_moving_avg"] = mean.round(3)
        df[c + "_trend"] = np.where(slope > TREND_TOL, "increasing",
                                    np.where(slope < -TREND_TOL, "decreasing", "stable"))
        df[c + "_zscore"] = z.round(3)
        flags = {
            "HIGH": active & (df[c] > cfg["alert"][1]),
            "LOW": active & (df[c] < cfg["alert"][0]),
            "RAPID": active & (delta.abs() > cfg["max_delta"]),
            "ZSCORE": active & (z.abs() > Z),
        }
        for kind, flag in flags.items():
            # Edge-triggered like Vigil's zscore detector: raised where the flag comes on.
            prev = flag.groupby(df["machine"]).shift(fill_value=False)
            rising = flag & ~prev if kind != "RAPID" else flag
            sel = df[rising]
            v = sel[c].map(lambda x: f"{x:.2f}") + cfg["unit"]
            label, unit = cfg["label"], cfg["unit"]
            if kind == "HIGH":
                t, typ, sev = cfg["alert"][1], "THRESHOLD_BREACH", "CRITICAL"
                text = label + " " + v + f" exceeded threshold of {t:.1f}{unit}."
            elif kind == "LOW":
                t, typ, sev = cfg["alert"][0], "THRESHOLD_BREACH", "CRITICAL"
                text = label + " " + v + f" fell below threshold of {t:.1f}{unit}."
            elif kind == "RAPID":
                t, typ, sev = cfg["max_delta"], "RAPID_CHANGE", "WARNING"
                text = (label + " changed by " + delta[rising].map(lambda x: f"{x:.2f}") + unit
                        + " to " + v + f" between consecutive readings (limit {t:.1f}{unit}).")
            else:
                t, typ, sev = Z, "ZSCORE", "WARNING"
                text = (label + " " + v + " has a z-score of " + z[rising].map(lambda x: f"{x:.2f}")
                        + f" against its recent normal (threshold {t:.1f}).")
            events.append(pd.DataFrame({
                "order": sel.index, "timestamp": sel["timestamp"], "machine": sel["machine"],
                "type": f"{typ}_{cfg['code']}", "severity": sev, "channel": c, "value": sel[c],
                "threshold": t, "description": text}))
        above = active & (mean > cfg["normal"][1])
        below = active & (mean < cfg["normal"][0])
        outside = flags["HIGH"] | flags["LOW"]
        alerts += np.where(above, f"{cfg['label']} above normal range; ",
                           np.where(below, f"{cfg['label']} below normal range; ", ""))
        alerts += np.where(outside, f"{cfg['label']} outside alert range; ", "")
        alerts += np.where(flags["ZSCORE"], f"{cfg['label']} reading unusual; ", "")
        health -= 0.2 * (above | below) + 0.3 * outside + 0.1 * flags["ZSCORE"]
    paused = df["status"] == "PAUSED"
    alerts += np.where(paused, "Machine paused - may require attention; ", "")
    health -= 0.1 * paused
    codes = df["status"].astype("category").cat.codes
    changed = (codes != by["status"].shift().astype("category").cat.codes).astype(int)
    changed[by.cumcount() == 0] = 0
    df["status_changes"] = changed.groupby(df["machine"]).transform(
        lambda s: s.rolling(WINDOW - 1, min_periods=1).sum()).astype(int)
    df["status_mode"] = df["status"]  # the window's mode: the current status in most rows
    df["health_score"] = health.clip(0, 1).round(2)
    df["alerts"] = alerts.str.rstrip("; ")
    bucket = df["ms"] // INTERVAL_MS
    first = bucket != bucket.groupby(df["machine"]).shift()
    rows = df[first].rename(columns={"temperature": "temperature_current",
                                     "speed": "speed_current", "status": "status_current"})
    cols = ["timestamp", "machine", "temperature_current", "temperature_moving_avg",
            "temperature_trend", "speed_current", "speed_moving_avg", "speed_trend",
            "status_current", "status_mode", "status_changes", "health_score", "alerts",
            "temperature_zscore", "speed_zscore"]
    rows.to_csv(os.path.join(out, "analysis_output.csv"), columns=cols, index=False)
    ev = pd.concat(events).sort_values("order", kind="stable").drop(columns=["order"])
    with open(os.path.join(out, "anomalies.jsonl"), "w", encoding="utf-8") as f:
        if len(ev):
            f.write(ev.to_json(orient="records", lines=True, force_ascii=False))
    open(os.path.join(out, "parser_errors.log"), "w").close()
    print(json.dumps({"readings": len(df), "rows": len(rows), "anomalies": len(ev), "errors": 0,
                      "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
