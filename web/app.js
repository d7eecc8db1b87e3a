/**
 * Vigil's live dashboard: one EventSource on /events for every machine, charts (uPlot) of the
 * selected machine only, the machine's status and the engine's live settings. Plain ES module,
 * no bundler; uPlot is the global `uPlot` of the IIFE build served by the engine itself.
 *
 * Memory stays bounded however long the page is open: each chart keeps at most POINTS rows
 * (older ones are overwritten), the anomaly table at most TABLE_ROWS rows, readings that arrive
 * while history loads at most PENDING, at most MAX_MACHINES machines are listed, and the
 * active-alarm panel keeps at most ALARM_CAP alarms (and ALARM_PENDING events while /alarms is
 * being read).
 *
 * Over 400 lines because every part here reads and writes the one page state; the parts that
 * need no DOM (ring buffer, z model, transitions, alarm list) are modules of their own.
 */
import { ALARM_CAP, AlarmList } from "./alarms.js";
import { RingBuffer } from "./ring_buffer.js";
import { STATUSES, TRANSITIONS } from "./transitions.js";
import { ZModel } from "./z_model.js";

/* global uPlot */

/** Points kept per chart; a long time window is thinned to this many. */
const POINTS = 600;
/** Rows kept in the anomaly table (newest first). */
const TABLE_ROWS = 200;
/** Messages of the selected machine held while its history loads. */
const PENDING = 5000;
/** Machines listed; more are ignored (and said so) rather than growing the page. */
const MAX_MACHINES = 1000;
/** The machine list counts anomalies from this long before the page opened, ms… */
const COUNT_SINCE_MS = 3_600_000;
/** …of at most this many anomalies (the newest). */
const COUNT_LAST = 10000;
/** Readings asked of /history for one time window, at most. */
const HISTORY_LAST = 20000;
/** Charts and the machine list are redrawn at most this often, ms. */
const DRAW_MS = 250;
const LIST_MS = 1000;
/** /control is re-read this often, ms, to show what other operators changed. */
const CONTROL_MS = 5000;
/** /alarms, the truth the live events only keep up to date, is re-read this often, ms. */
const ALARMS_MS = 5000;
/** Anomaly events held while /alarms is being read; beyond it the answer is read again. */
const ALARM_PENDING = 1000;

/** Columns of a channel's ring: time (s), value, model mean, band low, band high, anomaly mark. */
const T = 0, VALUE = 1, MEAN = 2, LO = 3, HI = 4, MARK = 5;

/** The x range every chart shows: the time window ending at the newest reading, seconds. */
let xRange = [0, 1];

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  /** @type {Map<string, {id: string, status: string, channels: Record<string, number>, time: number, anomalies: number, row: HTMLElement | null}>} */
  machines: new Map(),
  /** @type {string | null} */
  selected: null,
  /**
   * Whether start() has had its answer from /machines (or gave up on it). Until then no live
   * reading selects a machine: the default is chosen from that answer, not by whichever
   * machine's reading happens to come first on the event stream.
   */
  machinesLoaded: false,
  windowSec: 300,
  /** The engine's live settings, as GET /control answers. */
  control: {
    running: null,
    z_threshold: 3,
    anomaly_level: null,
    fault_rate: null,
    model_size: 100,
    window: 5,
  },
  /** The selected machine's charts and models; replaced on every (re)load. */
  view: /** @type {View | null} */ (null),
  loadSeq: 0,
  dirty: false,
  listDirty: true,
  ignoredMachines: 0,
  /** The active alarms (at most ALARM_CAP), from /alarms and the live events. */
  alarms: new AlarmList(ALARM_CAP),
  alarmsDirty: false,
  /** Events that came while /alarms is read, applied again to its answer; null when idle. */
  alarmPending: /** @type {any[] | null} */ (null),
  /** More events came than ALARM_PENDING holds: the answer in flight is stale. */
  alarmOverflow: false,
};

/**
 * @typedef {object} ChannelView
 * @property {RingBuffer} ring
 * @property {ZModel} model
 * @property {number} bucketStart time (s) the newest chart point's bucket began
 * @property {any} chart the uPlot instance
 * @property {HTMLElement} card the value card
 */
/**
 * @typedef {object} View
 * @property {string} machine
 * @property {Map<string, ChannelView>} channels
 * @property {RingBuffer} anomalies cumulative anomaly count: time (s), count
 * @property {number} anomalyCount
 * @property {any} anomalyChart
 * @property {boolean} loading
 * @property {{kind: string, data: any}[]} pending
 * @property {{t: number, channel: string, value: number}[]} marks anomaly marks not yet placed
 */

// ---------------------------------------------------------------------------------------------
// HTTP

/** Headers of a write request: JSON, and the bearer token when the operator gave one. */
function writeHeaders() {
  /** @type {Record<string, string>} */
  const h = { "content-type": "application/json" };
  const token = /** @type {HTMLInputElement} */ ($("token")).value.trim();
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

/** GET a JSON route; throws with the engine's `error` text on a non-2xx answer. */
async function getJson(/** @type {string} */ url) {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `${url}: HTTP ${res.status}`);
  return body;
}

/** A write not answered by then fails (and is shown): `/control` writes wait in line behind it. */
const WRITE_TIMEOUT_MS = 30_000;

/** POST JSON; the answer's body, or an Error carrying the engine's `error` text. */
async function postJson(/** @type {string} */ url, /** @type {unknown} */ payload) {
  const res = await fetch(url, {
    method: "POST",
    headers: writeHeaders(),
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(WRITE_TIMEOUT_MS),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const hint = res.status === 401 ? " (enter the API token at the top right)" : "";
    throw new Error((body.error ?? `HTTP ${res.status}`) + hint);
  }
  return body;
}

/** Shows a refused request or a failed load to the operator (not the console). */
function notify(/** @type {string} */ text, error = true) {
  const el = $("message");
  el.textContent = text;
  el.className = error ? "message error" : "message";
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => (el.textContent = ""), 8000);
}
/** @type {number | undefined} */
notify.timer = undefined;

// ---------------------------------------------------------------------------------------------
// Readings

/** The numeric channels of a reading (`stream_output.jsonl` line): every numeric field. */
function channelsOf(/** @type {Record<string, unknown>} */ reading) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const [k, v] of Object.entries(reading)) {
    if (typeof v === "number" && k !== "timestamp") out[k] = v;
  }
  return out;
}

/** The machine's entry, created on first sight (up to MAX_MACHINES). */
function machineEntry(/** @type {string} */ id) {
  let m = state.machines.get(id);
  if (!m) {
    if (state.machines.size >= MAX_MACHINES) {
      state.ignoredMachines++;
      return undefined;
    }
    m = { id, status: "?", channels: {}, time: 0, anomalies: 0, row: null };
    state.machines.set(id, m);
    state.listDirty = true;
  }
  return m;
}

function onReading(/** @type {any} */ r) {
  const m = machineEntry(r.machine);
  if (!m) return;
  const time = Date.parse(r.timestamp);
  if (time >= m.time) {
    m.time = time;
    m.channels = channelsOf(r);
    if (m.status !== r.status) {
      m.status = r.status;
      if (m.id === state.selected) showStatus(m.status);
    }
    state.listDirty = true;
  }
  if (state.selected === null) {
    // Only an engine that knew no machine when the page asked follows the first one that reads.
    if (state.machinesLoaded) select(m.id);
    return;
  }
  const v = state.view;
  if (!v || v.machine !== r.machine) return;
  if (v.loading) return hold(v, "reading", r);
  const names = Object.keys(m.channels);
  // A channel the view was built without (the machine had sent nothing yet): rebuild it.
  if (names.some((ch) => !v.channels.has(ch))) return void loadView(v.machine);
  for (const ch of names) addPoint(v, ch, time / 1000, m.channels[ch]);
  state.dirty = true;
}

/** Keeps a message of the selected machine until its history has loaded. */
function hold(/** @type {View} */ v, /** @type {string} */ kind, /** @type {any} */ data) {
  if (v.pending.length >= PENDING) v.pending.shift();
  v.pending.push({ kind, data });
}

/**
 * Adds a reading to a channel's chart. The model sees every reading; the chart keeps one point
 * per 1/POINTS of the time window (the newest, or the anomaly) so a long window fits POINTS.
 */
function addPoint(
  /** @type {View} */ v,
  /** @type {string} */ ch,
  /** @type {number} */ t,
  /** @type {number} */ value,
  anomaly = false,
) {
  const c = v.channels.get(ch);
  if (!c) return;
  const z = state.control.z_threshold ?? 3;
  const before = c.model.update(value, z);
  // The band is the detector's threshold, drawn once the model is full (before that nothing
  // is flagged, so there is no threshold to show).
  const band = c.model.count >= c.model.size && before.std > 0 ? z * before.std : NaN;
  const row = new Array(6);
  row[T] = t;
  row[VALUE] = value;
  row[MEAN] = before.mean;
  row[LO] = before.mean - band;
  row[HI] = before.mean + band;
  row[MARK] = anomaly ? value : NaN;
  const bucket = state.windowSec / POINTS;
  const n = c.ring.length;
  const lastT = n > 0 ? c.ring.get(T, n - 1) : -Infinity;
  const lastMarked = n > 0 && !Number.isNaN(c.ring.get(MARK, n - 1));
  if (t < lastT) {
    // Out of order: the chart's x must increase, so it is left out (the model has it).
  } else if (t === lastT || (t < c.bucketStart + bucket && !lastMarked)) {
    // Same bucket: the newest reading stands for it; a mark already there stays.
    for (let col = 0; col < row.length; col++) {
      if (col !== MARK || !lastMarked) c.ring.set(col, n - 1, row[col]);
    }
  } else {
    c.ring.push(row);
    c.bucketStart = t;
  }
  // An anomaly event that came before its reading.
  for (let i = v.marks.length - 1; i >= 0; i--) {
    const mk = v.marks[i];
    if (mk.channel === ch && mk.t <= t) {
      v.marks.splice(i, 1);
      placeMark(v, ch, mk.t, mk.value);
    }
  }
}

/**
 * Marks anomaly `a` (at `t`, s) on its channel's chart, or, when its reading is not drawn yet
 * (the event came first, or `/anomalies` answered with a reading `/history` did not have yet),
 * holds the mark until that reading arrives (see addPoint; at most 100 held).
 */
function markOrHold(/** @type {View} */ v, /** @type {any} */ a, /** @type {number} */ t) {
  if (typeof a.value !== "number" || placeMark(v, a.channel, t, a.value)) return;
  if (v.marks.length >= 100) v.marks.shift();
  v.marks.push({ t, channel: a.channel, value: a.value });
}

/** Marks the chart point of the reading at `t` (or the one it was thinned into). */
function placeMark(
  /** @type {View} */ v,
  /** @type {string} */ ch,
  /** @type {number} */ t,
  /** @type {number} */ value,
) {
  const c = v.channels.get(ch);
  if (!c) return false;
  let i = c.ring.findAtOrBefore(t);
  // A reading thinned into its bucket's point (the bucket's newest reading stands for it: see
  // addPoint) is marked there, on the point after the one at or before `t`, which is an
  // earlier reading's. (Marked on that earlier point, a mark could land a tick or more before
  // its reading: after a late tick, the next reading comes within the same bucket.)
  const next = i + 1;
  if (
    next < c.ring.length && (i < 0 || c.ring.get(T, i) < t) &&
    c.ring.get(T, next) - t < state.windowSec / POINTS
  ) i = next;
  else if (i < 0 || (i === c.ring.length - 1 && c.ring.get(T, i) < t)) return false;
  c.ring.set(MARK, i, value);
  return true;
}

function onRow(/** @type {any} */ row) {
  const v = state.view;
  if (!v || v.machine !== row.machine) return;
  for (const [ch, c] of v.channels) {
    const avg = row[`${ch}_moving_avg`], z = row[`${ch}_zscore`], trend = row[`${ch}_trend`];
    if (avg === undefined) continue;
    c.card.querySelector(".detail").textContent = `moving avg ${fmt(avg)} · z ${fmt(z)} · ${
      trend ?? ""
    }`;
  }
  $("health").textContent = `health ${fmt(row.health_score)}${
    row.alerts?.length ? " — " + row.alerts.join("; ") : ""
  }`;
}

function onAnomaly(/** @type {any} */ a) {
  alarmEvent(a);
  const m = machineEntry(a.machine);
  if (m) {
    m.anomalies++;
    state.listDirty = true;
  }
  addTableRow(a, true);
  const v = state.view;
  if (!v || v.machine !== a.machine) return;
  if (v.loading) return hold(v, "anomaly", a);
  viewAnomaly(v, a);
}

/** An anomaly of the selected machine: counted, and marked on its channel's chart. */
function viewAnomaly(/** @type {View} */ v, /** @type {any} */ a) {
  const t = Date.parse(a.timestamp) / 1000;
  countAnomaly(v, t);
  markOrHold(v, a, t);
  state.dirty = true;
}

/** One more anomaly in the accumulated-anomaly chart. */
function countAnomaly(/** @type {View} */ v, /** @type {number} */ t) {
  v.anomalyCount++;
  const r = v.anomalies;
  const n = r.length;
  // The count only grows, so thinning keeps the newest count of a bucket.
  if (n > 0 && t - r.get(0, n - 1) < state.windowSec / POINTS) r.set(1, n - 1, v.anomalyCount);
  else r.push([t, v.anomalyCount]);
}

// ---------------------------------------------------------------------------------------------
// The selected machine's view

function select(/** @type {string} */ id) {
  if (state.selected === id && state.view) return;
  state.selected = id;
  state.alarmsDirty = true;
  if (location.hash !== `#${id}`) history.replaceState(null, "", `#${encodeURIComponent(id)}`);
  state.listDirty = true;
  renderList(); // the operator's own action shows at once, not at the next tick
  loadView(id);
}

/** Builds the selected machine's charts from /history and /anomalies, then goes live. */
async function loadView(/** @type {string} */ id) {
  const seq = ++state.loadSeq;
  const m = state.machines.get(id);
  const names = Object.keys(m?.channels ?? {});
  for (const c of state.view?.channels.values() ?? []) c.chart.destroy();
  state.view?.anomalyChart.destroy();
  $("charts").replaceChildren();
  $("cards").replaceChildren();
  $("anomalyChart").replaceChildren();
  $("machineName").textContent = id;
  $("health").textContent = "";
  showStatus(m?.status ?? "?");

  /** @type {View} */
  const v = {
    machine: id,
    channels: new Map(),
    anomalies: new RingBuffer(POINTS, 2),
    anomalyCount: 0,
    anomalyChart: makeAnomalyChart(),
    loading: true,
    pending: [],
    marks: [],
  };
  const size = state.control.model_size ?? 100;
  for (const ch of names) {
    const card = document.createElement("div");
    card.className = "card";
    card.dataset.channel = ch;
    card.innerHTML = '<div class="label"></div><div class="value"></div><div class="detail"></div>';
    card.querySelector(".label").textContent = ch;
    $("cards").append(card);
    v.channels.set(ch, {
      ring: new RingBuffer(POINTS, 6),
      model: new ZModel(size),
      bucketStart: -Infinity,
      chart: makeChannelChart(ch),
      card,
    });
  }
  state.view = v;
  state.dirty = true;

  const now = Date.now();
  const from = new Date(now - state.windowSec * 1000).toISOString();
  const before = new Date(now - state.windowSec * 1000 - 1).toISOString();
  const q = (/** @type {string} */ ch) =>
    `machine=${encodeURIComponent(id)}&channel=${encodeURIComponent(ch)}`;
  try {
    const [histories, anomalies] = await Promise.all([
      Promise.all(names.map((ch) =>
        Promise.all([
          // The model as it stood when the window began, then the window itself.
          getJson(`/history?${q(ch)}&to=${before}&last=${size}`),
          getJson(`/history?${q(ch)}&from=${from}&last=${HISTORY_LAST}`),
        ])
      )),
      getJson(`/anomalies?machine=${encodeURIComponent(id)}&since=${from}&limit=10000`),
    ]);
    if (seq !== state.loadSeq) return;
    /** @type {Map<string, number>} */
    const lastTime = new Map();
    names.forEach((ch, k) => {
      const [warm, win] = /** @type {any[]} */ (histories[k]);
      const c = /** @type {ChannelView} */ (v.channels.get(ch));
      const z = state.control.z_threshold ?? 3;
      for (const r of warm.readings) c.model.update(r.value, z);
      for (const r of win.readings) {
        addPoint(v, ch, Date.parse(r.timestamp) / 1000, r.value, r.anomaly);
      }
      const last = win.readings.at(-1) ?? warm.readings.at(-1);
      lastTime.set(ch, last ? Date.parse(last.timestamp) : -Infinity);
    });
    /** @type {Set<string>} */
    const seen = new Set();
    for (const a of anomalies.anomalies) {
      const t = Date.parse(a.timestamp) / 1000;
      countAnomaly(v, t);
      markOrHold(v, a, t);
      seen.add(`${a.timestamp}|${a.type}|${a.channel}`);
    }
    v.loading = false;
    // What arrived while loading, minus what the answers already had.
    for (const { kind, data } of v.pending.splice(0)) {
      if (kind === "reading") {
        const t = Date.parse(data.timestamp);
        for (const [ch, val] of Object.entries(channelsOf(data))) {
          if (t > (lastTime.get(ch) ?? Infinity)) addPoint(v, ch, t / 1000, val);
        }
      } else if (!seen.has(`${data.timestamp}|${data.type}|${data.channel}`)) {
        viewAnomaly(v, data);
      }
    }
    state.dirty = true;
  } catch (e) {
    if (seq !== state.loadSeq) return;
    v.loading = false;
    notify(`Could not load the history of ${id}: ${/** @type {Error} */ (e).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Charts

function chartWidth() {
  return Math.max(300, $("charts").clientWidth - 8);
}

function makeChannelChart(/** @type {string} */ ch) {
  const el = document.createElement("div");
  el.className = "chart";
  el.dataset.channel = ch;
  $("charts").append(el);
  return new uPlot(
    {
      title: ch,
      width: chartWidth(),
      height: 220,
      scales: { x: { time: true, range: () => [xRange[0], xRange[1]] } },
      series: [
        {},
        { label: ch, stroke: "#1f5fa8", width: 1.5 },
        { label: "model mean", stroke: "#555", width: 1, dash: [4, 4], spanGaps: true },
        { label: "−z·σ", stroke: "rgba(230,140,0,0.7)", width: 1 },
        { label: "+z·σ", stroke: "rgba(230,140,0,0.7)", width: 1 },
        {
          label: "anomaly",
          stroke: "#d11",
          fill: "#d11",
          paths: () => null,
          points: { show: true, size: 8, fill: "#d11", stroke: "#d11" },
        },
      ],
      bands: [{ series: [4, 3], fill: "rgba(230,140,0,0.12)" }],
      axes: [{}, { size: 60 }],
    },
    [[], [], [], [], [], []],
    el,
  );
}

function makeAnomalyChart() {
  return new uPlot(
    {
      title: "accumulated anomalies",
      width: chartWidth(),
      height: 160,
      scales: { x: { time: true, range: () => [xRange[0], xRange[1]] } },
      series: [
        {},
        {
          label: "anomalies",
          stroke: "#d11",
          fill: "rgba(221,17,17,0.08)",
          width: 1.5,
          paths: uPlot.paths.stepped({ align: 1 }),
        },
      ],
      axes: [{}, { size: 60 }],
    },
    [[], []],
    $("anomalyChart"),
  );
}

/** Redraws the selected machine's charts from their rings (only when something changed). */
function draw() {
  const v = state.view;
  if (!v || !state.dirty) return;
  state.dirty = false;
  let newest = 0, oldest = Infinity;
  for (const c of v.channels.values()) {
    if (c.ring.length === 0) continue;
    newest = Math.max(newest, c.ring.get(T, c.ring.length - 1));
    oldest = Math.min(oldest, c.ring.get(T, 0));
  }
  if (newest === 0) newest = oldest = Date.now() / 1000;
  const from = newest - state.windowSec;
  // While there is less than a window of data, what there is fills the width.
  xRange = [Math.min(Math.max(from, oldest), newest - 1), newest];
  for (const c of v.channels.values()) {
    c.chart.setData(c.ring.toArrays(from));
    const n = c.ring.length;
    if (n > 0) c.card.querySelector(".value").textContent = fmt(c.ring.get(VALUE, n - 1));
    c.card.classList.toggle("alarm", n > 0 && !Number.isNaN(c.ring.get(MARK, n - 1)));
  }
  // The count as a step line across the whole range: from what it was when the range began
  // (0 unless the ring dropped older counts) to the current count now.
  const [ts, counts] = v.anomalies.toArrays(from);
  const start = v.anomalies.length < POINTS || counts.length === 0 ? 0 : counts[0] - 1;
  if (ts.length === 0 || ts[0] > xRange[0]) {
    ts.unshift(xRange[0]);
    counts.unshift(Math.max(start, 0));
  }
  if (ts[ts.length - 1] < newest) {
    ts.push(newest);
    counts.push(v.anomalyCount);
  }
  v.anomalyChart.setData([ts, counts]);
  $("anomalyTotal").textContent = `${v.anomalyCount} anomalies in the window`;
  showModelFill(v);
}

/** The model-completeness bar: shown until the detector has a full model. */
function showModelFill(/** @type {View} */ v) {
  const first = v.channels.values().next().value;
  const bar = /** @type {HTMLProgressElement} */ ($("modelBar"));
  if (!first) return;
  const { count, size } = first.model;
  bar.max = size;
  bar.value = count;
  $("modelFill").hidden = count >= size;
  $("modelText").textContent =
    `model ${count} / ${size} points: anomalies are detected once it is full`;
}

function fmt(/** @type {unknown} */ x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "–";
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toFixed(2);
}

// ---------------------------------------------------------------------------------------------
// Status and controls

function showStatus(/** @type {string} */ status) {
  const badge = $("badge");
  badge.textContent = status;
  badge.className = `badge s-${status}`;
  const allowed = /** @type {Record<string, string[]>} */ (TRANSITIONS)[status] ?? [];
  for (
    const b of /** @type {NodeListOf<HTMLButtonElement>} */ (
      $("transitions").querySelectorAll("button")
    )
  ) {
    b.disabled = !allowed.includes(b.dataset.status ?? "");
  }
}

async function setStatus(/** @type {string} */ status) {
  const id = state.selected;
  if (!id) return;
  try {
    const body = await postJson(`/status?machine=${encodeURIComponent(id)}`, { status });
    const m = state.machines.get(id);
    if (m) m.status = body.data.status;
    showStatus(body.data.status);
    state.listDirty = true;
    renderList();
    notify(`${id}: ${body.data.status}`, false);
  } catch (e) {
    notify(`${id}: ${/** @type {Error} */ (e).message}`);
  }
}

function showControl() {
  const c = state.control;
  const z = /** @type {HTMLInputElement} */ ($("zThreshold"));
  const level = /** @type {HTMLInputElement} */ ($("anomalyLevel"));
  // Not while the operator holds a slider: the poll would yank it back.
  if (document.activeElement !== z || !z.dataset.dragging) {
    z.disabled = c.z_threshold === null;
    if (c.z_threshold !== null) z.value = String(c.z_threshold);
  }
  if (document.activeElement !== level || !level.dataset.dragging) {
    level.disabled = c.anomaly_level === null;
    if (c.anomaly_level !== null) level.value = String(c.anomaly_level);
  }
  $("zValue").textContent = c.z_threshold === null ? "–" : Number(z.value).toFixed(1);
  $("levelValue").textContent = c.anomaly_level === null ? "–" : Number(level.value).toFixed(2);
  const run = /** @type {HTMLButtonElement} */ ($("runToggle"));
  run.disabled = c.running === null;
  run.textContent = c.running === false ? "Start simulator" : "Stop simulator";
  $("runState").textContent = c.running === null ? "" : c.running ? "running" : "stopped";
  $("runState").className = c.running === false ? "pill stopped" : "pill";
}

/**
 * Writes of `/control` not yet answered, and a count of every write begun: a poll begun before
 * a write, or answered while one is pending, may carry the value from before it, and would set
 * a slider back between two key presses (the next press then steps from the old value).
 */
const controlWrites = { pending: 0, begun: 0, queue: Promise.resolve() };

async function refreshControl() {
  const begun = controlWrites.begun;
  const stale = () => controlWrites.pending > 0 || controlWrites.begun !== begun;
  try {
    const body = await getJson("/control");
    if (stale()) return;
    const sizeChanged = body.data.model_size !== state.control.model_size;
    state.control = body.data;
    showControl();
    if (sizeChanged && state.selected) loadView(state.selected);
  } catch {
    if (stale()) return;
    // An engine without /control: the knobs stay disabled.
    state.control = { ...state.control, running: null, z_threshold: null, anomaly_level: null };
    showControl();
  }
}

/** Posts `patch` to `/control`, after the writes before it (in the order the operator made
 * them); only the answer to the last one moves the knobs. */
function applyControl(/** @type {Record<string, unknown>} */ patch) {
  const mine = ++controlWrites.begun;
  controlWrites.pending++;
  controlWrites.queue = controlWrites.queue.then(async () => {
    try {
      const body = await postJson("/control", patch);
      if (mine === controlWrites.begun) state.control = body.data;
      notify(`applied ${JSON.stringify(patch)}`, false);
    } catch (e) {
      notify(/** @type {Error} */ (e).message);
    } finally {
      controlWrites.pending--;
    }
    if (mine === controlWrites.begun) showControl();
  });
  return controlWrites.queue;
}

// ---------------------------------------------------------------------------------------------
// Machine list and anomaly table

function renderList() {
  if (!state.listDirty) return;
  state.listDirty = false;
  const list = $("machineList");
  const filter = /** @type {HTMLInputElement} */ ($("filter")).value.trim().toLowerCase();
  const ids = [...state.machines.keys()].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true })
  );
  for (const id of ids) {
    const m = /** @type {NonNullable<ReturnType<typeof state.machines.get>>} */ (
      state.machines.get(id)
    );
    if (!m.row) {
      const row = document.createElement("button");
      row.type = "button";
      row.className = "machine";
      row.dataset.machine = id;
      row.innerHTML =
        '<span class="dot"></span><span class="id"></span><span class="val"></span><span class="count"></span>';
      row.querySelector(".id").textContent = id;
      row.addEventListener("click", () => select(id));
      m.row = row;
    }
    const row = m.row;
    row.hidden = filter !== "" && !id.toLowerCase().includes(filter);
    row.classList.toggle("selected", id === state.selected);
    row.querySelector(".dot").className = `dot s-${m.status}`;
    row.title = `${id}: ${m.status}`;
    const first = Object.entries(m.channels)[0];
    row.querySelector(".val").textContent = first ? fmt(first[1]) : "";
    row.querySelector(".count").textContent = m.anomalies ? String(m.anomalies) : "";
  }
  // Appending an element already in the list moves it: this keeps the sorted order.
  list.append(...ids.map((id) => /** @type {HTMLElement} */ (state.machines.get(id)?.row)));
  $("machineCount").textContent = `${state.machines.size} machines${
    state.ignoredMachines ? ` (more not listed)` : ""
  }`;
}

/** Adds an anomaly at the top of the table (or the bottom when filling it oldest-first). */
function addTableRow(/** @type {any} */ a, /** @type {boolean} */ top) {
  const body = $("anomalyRows");
  const tr = document.createElement("tr");
  tr.className = `sev-${a.severity}`;
  tr.dataset.machine = a.machine;
  tr.dataset.type = a.type;
  tr.dataset.timestamp = a.timestamp;
  const time = new Date(a.timestamp);
  for (
    const text of [
      time.toLocaleTimeString([], { hour12: false }) + "." +
      String(time.getMilliseconds()).padStart(3, "0"),
      a.machine,
      a.type,
      a.severity,
      typeof a.value === "number" ? fmt(a.value) : "",
      a.description ?? "",
    ]
  ) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  tr.addEventListener("click", () => select(a.machine));
  if (top) body.prepend(tr);
  else body.append(tr);
  while (body.childElementCount > TABLE_ROWS) body.lastElementChild?.remove();
}

// ---------------------------------------------------------------------------------------------
// Active alarms

/** A live anomaly event: raises, updates or clears an alarm (held too while /alarms is read). */
function alarmEvent(/** @type {any} */ a) {
  if (state.alarmPending) {
    if (state.alarmPending.length < ALARM_PENDING) state.alarmPending.push(a);
    else state.alarmOverflow = true;
  }
  if (state.alarms.apply(a)) state.alarmsDirty = true;
}

/** Replaces the panel's alarms with /alarms, then re-applies the events that came meanwhile. */
async function refreshAlarms() {
  if (state.alarmPending) return; // one read at a time
  state.alarmPending = [];
  state.alarmOverflow = false;
  try {
    const answer = await getJson("/alarms");
    state.alarms.replace(answer);
    for (const e of state.alarmPending) state.alarms.apply(e);
    state.alarmsDirty = true;
  } catch (e) {
    notify(`Could not load the active alarms: ${/** @type {Error} */ (e).message}`);
  } finally {
    const again = state.alarmOverflow;
    state.alarmPending = null;
    if (again) setTimeout(refreshAlarms, 0);
  }
  renderAlarms();
}

/** "12:03:04", or "Jan 2, 12:03:04" for another day. */
function sinceText(/** @type {string} */ iso) {
  const t = new Date(iso);
  const time = t.toLocaleTimeString([], { hour12: false });
  return t.toDateString() === new Date().toDateString()
    ? time
    : `${t.toLocaleDateString([], { month: "short", day: "numeric" })}, ${time}`;
}

function renderAlarms() {
  if (!state.alarmsDirty) return;
  state.alarmsDirty = false;
  const alarms = state.alarms.sorted();
  const total = state.alarms.total;
  const badge = $("alarmCount");
  badge.textContent = String(total);
  badge.className = `count-badge ${alarms[0] ? `sev-${alarms[0].severity}` : "none"}`;
  $("alarmNote").textContent = total > alarms.length ? `(the first ${alarms.length} shown)` : "";
  $("alarmEmpty").hidden = alarms.length > 0;
  const rows = alarms.map((a) => {
    const tr = document.createElement("tr");
    tr.className = `sev-${a.severity}${a.machine === state.selected ? " selected" : ""}`;
    Object.assign(tr.dataset, {
      machine: a.machine,
      type: a.type,
      channel: a.channel ?? "",
      severity: a.severity,
      raisedAt: a.raised_at,
      count: String(a.count),
      incident: a.incident ?? "",
    });
    tr.title = `${a.description}\nraised ${a.raised_at}, last ${a.last_at}, ${a.count}× raised` +
      (a.incident ? `\nincident ${a.incident}` : "");
    const cells = [
      a.machine,
      a.type,
      a.channel ?? "–",
      a.severity,
      sinceText(a.raised_at),
      `${fmt(a.value)} / ${fmt(a.threshold)}`,
    ];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    if (a.count > 1) {
      const times = document.createElement("span");
      times.className = "muted small";
      times.textContent = ` ×${a.count}`;
      tr.children[1]?.append(times);
    }
    tr.addEventListener("click", () => select(a.machine));
    return tr;
  });
  $("alarmRows").replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------
// Start

function connect() {
  const es = new EventSource("/events");
  let failed = false;
  es.addEventListener("open", () => {
    $("conn").textContent = "live";
    $("conn").className = "pill";
    // After a drop the charts miss what happened meanwhile: reload them from history.
    if (failed && state.selected) loadView(state.selected);
    failed = false;
  });
  es.addEventListener("error", () => {
    failed = true;
    $("conn").textContent = "reconnecting…";
    $("conn").className = "pill stopped";
    // A refused stream (503: too many clients) is not retried by the browser: retry ourselves.
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
  });
  es.addEventListener("reading", (e) => onReading(JSON.parse(e.data)));
  es.addEventListener("row", (e) => onRow(JSON.parse(e.data)));
  es.addEventListener("anomaly", (e) => onAnomaly(JSON.parse(e.data)));
}

function setupControls() {
  const buttons = $("transitions");
  for (const s of STATUSES) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.status = s;
    b.textContent = s;
    b.disabled = true;
    b.addEventListener("click", () => setStatus(s));
    buttons.append(b);
  }
  const z = /** @type {HTMLInputElement} */ ($("zThreshold"));
  const level = /** @type {HTMLInputElement} */ ($("anomalyLevel"));
  for (
    const [el, out, key, digits] of /** @type {const} */ ([
      [z, "zValue", "z_threshold", 1],
      [level, "levelValue", "anomaly_level", 2],
    ])
  ) {
    el.addEventListener("input", () => {
      el.dataset.dragging = "1";
      $(out).textContent = Number(el.value).toFixed(digits);
    });
    el.addEventListener("change", () => {
      delete el.dataset.dragging;
      applyControl({ [key]: Number(el.value) });
    });
  }
  $("runToggle").addEventListener("click", () => {
    applyControl({ running: state.control.running === false });
  });
  const windowSelect = /** @type {HTMLSelectElement} */ ($("window"));
  windowSelect.value = String(state.windowSec);
  windowSelect.addEventListener("change", () => {
    state.windowSec = Number(windowSelect.value);
    if (state.selected) loadView(state.selected);
  });
  $("filter").addEventListener("input", () => {
    state.listDirty = true;
    renderList();
  });
  const token = /** @type {HTMLInputElement} */ ($("token"));
  // Per tab only: a token left in localStorage would outlive the shift.
  token.value = sessionStorage.getItem("vigil-token") ?? "";
  token.addEventListener("change", () => sessionStorage.setItem("vigil-token", token.value));
  addEventListener("resize", () => {
    const w = chartWidth();
    for (const c of state.view?.channels.values() ?? []) c.chart.setSize({ width: w, height: 220 });
    state.view?.anomalyChart.setSize({ width: w, height: 160 });
  });
}

async function start() {
  const countSince = Date.now() - COUNT_SINCE_MS;
  $("countSince").textContent = `anomalies since ${
    new Date(countSince).toLocaleTimeString([], { hour12: false })
  }`;
  setupControls();
  await refreshControl();
  // Events first, so nothing between the snapshot below and the stream is lost.
  connect();
  refreshAlarms();
  try {
    const [machines, anomalies] = await Promise.all([
      getJson("/machines"),
      getJson(`/anomalies?since=${new Date(countSince).toISOString()}&limit=${COUNT_LAST}`),
    ]);
    const wanted = decodeURIComponent(location.hash.slice(1));
    for (const m of machines.machines) {
      const e = machineEntry(m.id);
      if (!e) continue;
      e.status = m.status;
      e.channels = m.channels;
      e.time = m.last_reading ? Date.parse(m.last_reading) : 0;
    }
    // Newest last in the answer: appended in order, they come out newest-first after the
    // live rows that arrived meanwhile.
    for (const a of anomalies.anomalies) {
      const e = state.machines.get(a.machine);
      if (e) e.anomalies++;
    }
    for (const a of anomalies.anomalies.slice(-TABLE_ROWS).reverse()) addTableRow(a, false);
    const first = [...state.machines.keys()].sort((a, b) =>
      a.localeCompare(b, undefined, { numeric: true })
    )[0];
    // The machine in the URL, else one the operator clicked meanwhile (in the anomaly table),
    // else the first in sorted order: the same default however the live readings raced this.
    const pick = wanted && state.machines.has(wanted) ? wanted : state.selected ?? first;
    // Reloaded even when a click already selected it: /machines knows its channels.
    if (pick !== undefined) {
      state.selected = pick;
      loadView(pick);
    }
  } catch (e) {
    notify(`Could not load the machines: ${/** @type {Error} */ (e).message}`);
  }
  state.machinesLoaded = true;
  setInterval(draw, DRAW_MS);
  setInterval(() => {
    renderList();
    renderAlarms();
  }, LIST_MS);
  setInterval(refreshAlarms, ALARMS_MS);
  setInterval(refreshControl, CONTROL_MS);
  renderList();
}

// For tests and curious operators: the live charts and state, read-only by convention.
Object.defineProperty(globalThis, "vigil", {
  value: {
    state,
    /** The first channel chart of the selected machine. */
    get chart() {
      return state.view?.channels.values().next().value?.chart ?? null;
    },
    /** Every channel chart of the selected machine, by channel. */
    get charts() {
      return Object.fromEntries([...(state.view?.channels ?? [])].map(([k, c]) => [k, c.chart]));
    },
    get anomalyChart() {
      return state.view?.anomalyChart ?? null;
    },
  },
});

start();
