"""A plain CPython stream operator doing Vigil's replay work per reading: the peer a user might
write instead (bench/replay_peers.ts runs it beside `deno task replay`).

    python3 bench/python_operator.py INPUT.jsonl OUT_DIR

Per line: `json.loads`, per-machine dicts, a rolling window of 5 (mean, std, slope/trend,
delta), a z-score against each channel's last 100 values, the default channel limits of
engine/core/channel_config.ts (alert range, max delta, `activeStatuses`), edge-triggered alarm
events worded like engine/detect/event_text.ts, every reading written back as JSON
(stream_output.jsonl), a processed row per machine every 10 s of event time
(analysis_output.csv, the same columns), events to anomalies.jsonl and bad lines to
parser_errors.log. Prints one JSON line: {"readings", "rows", "anomalies", "errors", "seconds"}.
The standard library only; the same arithmetic is not bit-identical to the WASM kernel's, so
counts differ slightly from Vigil's (the work per reading is the same).
"""

import json
import math
import os
import sys
import time
from collections import deque
from datetime import datetime, timezone

WINDOW = 5
MODEL = 100
Z = 3.0
INTERVAL_MS = 10_000
TREND_TOL = 0.01
CHANNELS = {
    "temperature": {"label": "Temperature", "unit": "°C", "code": "TEMP", "normal": (15, 35),
                    "alert": (10, 40), "max_delta": 10, "active": None},
    "speed": {"label": "Speed", "unit": " RPM", "code": "SPEED", "normal": (1000, 2000),
              "alert": (800, 2200), "max_delta": 400, "active": ("RUNNING",)},
}
COLUMNS = ["timestamp", "machine", "temperature_current", "temperature_moving_avg",
           "temperature_trend", "speed_current", "speed_moving_avg", "speed_trend",
           "status_current", "status_mode", "status_changes", "health_score", "alerts",
           "temperature_zscore", "speed_zscore"]


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000


def iso(ms):
    d = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms % 1000):03d}Z"


def fmt_value(x):
    return f"{x:.3g}" if x != 0 and abs(x) < 0.1 else f"{x:.2f}"


def csv_field(v):
    s = "" if v is None else str(v)
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n') else s


class Stream:
    __slots__ = ("window", "wsum", "model", "msum", "msq", "prev", "raised")

    def __init__(self):
        self.window = deque()
        self.wsum = 0.0
        self.model = deque()
        self.msum = 0.0
        self.msq = 0.0
        self.prev = None
        self.raised = set()


def analyse(stream, x):
    """The window statistics, z-score and delta of value x (running sums: O(1) a reading, like
    the kernel's), then x joins the window and the model."""
    model = stream.model
    n = len(model)
    z = 0.0
    if n >= WINDOW:
        m = stream.msum / n
        var = stream.msq / n - m * m
        if var > 1e-12:
            z = (x - m) / math.sqrt(var)
    model.append(x)
    stream.msum += x
    stream.msq += x * x
    if n + 1 > MODEL:
        old = model.popleft()
        stream.msum -= old
        stream.msq -= old * old
    w = stream.window
    w.append(x)
    stream.wsum += x
    if len(w) > WINDOW:
        stream.wsum -= w.popleft()
    n = len(w)
    mean = stream.wsum / n
    slope = 0.0
    if n >= 2:
        mid = (n - 1) / 2
        slope = sum((i - mid) * v for i, v in enumerate(w)) * 12 / (n * (n * n - 1))
    delta = 0.0 if stream.prev is None else x - stream.prev
    stream.prev = x
    return mean, slope, z, delta


def main():
    path, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    started = time.perf_counter()
    machines = {}
    readings = rows = anomalies = errors = 0
    with open(path, encoding="utf-8") as src, \
            open(os.path.join(out, "stream_output.jsonl"), "w", encoding="utf-8") as stream_out, \
            open(os.path.join(out, "analysis_output.csv"), "w", encoding="utf-8") as csv_out, \
            open(os.path.join(out, "anomalies.jsonl"), "w", encoding="utf-8") as events_out, \
            open(os.path.join(out, "parser_errors.log"), "w", encoding="utf-8") as errors_out:
        csv_out.write(",".join(COLUMNS) + "\n")
        for lineno, line in enumerate(src, 1):
            try:
                r = json.loads(line)
                machine = r["machine"]
                ts = parse_time(r["timestamp"])
                status = r.get("status")
                values = {c: float(r[c]) for c in CHANNELS if c in r}
                if not isinstance(machine, str) or not values:
                    raise ValueError("no machine or no channel")
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                errors += 1
                errors_out.write(f"line {lineno}: {e}: {line.strip()[:200]}\n")
                continue
            readings += 1
            stream_out.write(json.dumps(r, separators=(",", ":")) + "\n")
            m = machines.get(machine)
            if m is None:
                m = machines[machine] = {"streams": {c: Stream() for c in CHANNELS},
                                         "statuses": deque(maxlen=WINDOW), "bucket": None}
            m["statuses"].append(status)
            stamp = None
            results = {}
            for c, x in values.items():
                cfg = CHANNELS[c]
                s = m["streams"][c]
                mean, slope, z, delta = analyse(s, x)
                results[c] = (x, mean, slope, z)
                active = cfg["active"] is None or status in cfg["active"]
                flags = set()
                if active:
                    if x > cfg["alert"][1]:
                        flags.add("HIGH")
                    elif x < cfg["alert"][0]:
                        flags.add("LOW")
                    if abs(delta) > cfg["max_delta"]:
                        flags.add("RAPID")
                    if abs(z) > Z:
                        flags.add("ZSCORE")
                rising = flags - s.raised
                s.raised = flags - {"RAPID"}
                for kind in ("HIGH", "LOW", "RAPID", "ZSCORE"):
                    if kind not in rising:
                        continue
                    stamp = stamp or iso(ts)
                    v = fmt_value(x) + cfg["unit"]
                    if kind == "HIGH":
                        t, typ, sev = cfg["alert"][1], "THRESHOLD_BREACH", "CRITICAL"
                        text = f"{cfg['label']} {v} exceeded threshold of {t:.1f}{cfg['unit']}."
                    elif kind == "LOW":
                        t, typ, sev = cfg["alert"][0], "THRESHOLD_BREACH", "CRITICAL"
                        text = f"{cfg['label']} {v} fell below threshold of {t:.1f}{cfg['unit']}."
                    elif kind == "RAPID":
                        t, typ, sev = cfg["max_delta"], "RAPID_CHANGE", "WARNING"
                        text = (f"{cfg['label']} changed by {delta:.2f}{cfg['unit']} to {v} "
                                f"between consecutive readings (limit {t:.1f}{cfg['unit']}).")
                    else:
                        t, typ, sev = Z, "ZSCORE", "WARNING"
                        text = (f"{cfg['label']} {v} has a z-score of {z:.2f} against its "
                                f"recent normal (threshold {t:.1f}).")
                    events_out.write(json.dumps({
                        "timestamp": stamp, "machine": machine, "type": f"{typ}_{cfg['code']}",
                        "severity": sev, "channel": c, "value": x, "threshold": t,
                        "description": text}, ensure_ascii=False, separators=(",", ":")) + "\n")
                    anomalies += 1
            bucket = ts // INTERVAL_MS
            if bucket == m["bucket"]:
                continue
            m["bucket"] = bucket
            stamp = stamp or iso(ts)
            alerts = []
            health = 1.0
            fields = {"timestamp": stamp, "machine": machine}
            for c, (x, mean, slope, z) in results.items():
                cfg = CHANNELS[c]
                fields[c + "_current"] = x
                fields[c + "_moving_avg"] = round(mean, 3)
                fields[c + "_trend"] = ("increasing" if slope > TREND_TOL else
                                        "decreasing" if slope < -TREND_TOL else "stable")
                fields[c + "_zscore"] = round(z, 3)
                if cfg["active"] is None or status in cfg["active"]:
                    if mean > cfg["normal"][1]:
                        alerts.append(f"{cfg['label']} above normal range")
                        health -= 0.2
                    elif mean < cfg["normal"][0]:
                        alerts.append(f"{cfg['label']} below normal range")
                        health -= 0.2
                    if x > cfg["alert"][1] or x < cfg["alert"][0]:
                        alerts.append(f"{cfg['label']} outside alert range")
                        health -= 0.3
                    if abs(z) > Z:
                        alerts.append(f"{cfg['label']} reading unusual (z = {z:.1f})")
                        health -= 0.1
            statuses = list(m["statuses"])
            counts = {}
            mode, best = None, 0
            for s in statuses:
                counts[s] = counts.get(s, 0) + 1
                if counts[s] >= best:
                    best, mode = counts[s], s
            changes = sum(1 for a, b in zip(statuses, statuses[1:]) if a != b)
            if status == "PAUSED":
                alerts.append("Machine paused - may require attention")
                health -= 0.1
            if changes >= 3:
                alerts.append("Frequent status changes")
                health -= 0.1
            fields.update(status_current=status, status_mode=mode, status_changes=changes,
                          health_score=round(max(0.0, min(1.0, health)), 2),
                          alerts="; ".join(alerts))
            csv_out.write(",".join(csv_field(fields.get(k)) for k in COLUMNS) + "\n")
            rows += 1
    print(json.dumps({"readings": readings, "rows": rows, "anomalies": anomalies,
                      "errors": errors, "seconds": round(time.perf_counter() - started, 3)}))


if __name__ == "__main__":
    main()
