/**
 * The dashboard end to end: the real engine as a child process (the `start` task's own command
 * and permissions), Debian's Chromium driven by playwright-core, and the page's charts, sliders,
 * buttons, anomaly table and active-alarm panel checked against what the engine's API and files
 * say.
 * Leaves `test-output/dashboard.png`.
 *
 * About 510 lines, past the project's ~400: one engine and one Chromium session checked step
 * after step (each step starts from the page the one before left); split, each file would start
 * its own engine and browser and repeat the steps that lead up to its own.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { FILES, type MachineStatus, TRANSITIONS } from "../../engine/mod.ts";
import { taskLine } from "../helpers.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const CHROMIUM = "/usr/bin/chromium";
/** Generous: the suite runs test files in parallel on 2 cores. */
const DEADLINE_MS = 60_000;

/** Reads the child's stdout until the `listening on` line; returns the URL. */
async function listeningUrl(stdout: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value;
    const m = /listening on (http:\/\/\S+)/.exec(seen);
    if (m) {
      // Keep draining so the child never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return m[1]!;
    }
  }
  throw new Error(`the engine did not print "listening on": ${seen}`);
}

/** Polls `check` until it returns a value other than undefined, or fails naming `what`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = DEADLINE_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** GET a JSON route of the engine; the shapes are checked where they are used. */
// deno-lint-ignore no-explicit-any
async function api(base: string, path: string): Promise<any> {
  const res = await fetch(new URL(path, base));
  const body = await res.json();
  assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`);
  return body;
}

/** The first channel chart of the selected machine as the page holds it (uPlot's own data). */
function chartData(page: Page) {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const v = (globalThis as any).vigil;
    const chart = v.chart;
    if (!chart) return null;
    return {
      machine: v.state.selected as string,
      channel: chart.series[1].label as string,
      data: chart.data as (number | null)[][],
    };
  });
}

/** A running engine and a Chromium page on its dashboard, with what the page complained of. */
interface Session {
  base: string;
  dataDir: string;
  page: Page;
  /** Console errors and warnings, page errors and failed requests, in order. */
  problems: string[];
}

/**
 * Starts the engine (3 simulated machines at 10 readings/s, faults at rate 0.2, plus `extra`
 * flags) in a fresh `./data/test-<uuid>`, opens Chromium on it, runs `fn`, and always closes
 * the browser, stops the engine and removes the data directory.
 */
async function withDashboard(extra: string[], fn: (s: Session) => Promise<void>): Promise<void> {
  const dataDir = `./data/test-${crypto.randomUUID()}`;
  // The `start` task's own command line, permissions and environment.
  const start = await taskLine("start");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...start.args,
      ...["--port", "0", "--data-dir", dataDir, "--interval", "0.1"],
      ...["--processing-interval", "0.5", "--machines", "3", "--fault-rate", "0.2"],
      ...["--seed", "42", ...extra],
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1", ...start.env },
  }).spawn();
  let browser: Browser | undefined;
  try {
    const base = await listeningUrl(child.stdout);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(DEADLINE_MS);
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => {
      // The event stream is cut when the browser closes; anything else failing is a defect.
      if (!r.url().endsWith("/events")) problems.push(`request failed: ${r.url()}`);
    });
    try {
      await fn({ base, dataDir, page, problems });
    } catch (e) {
      // What the page said and where it stood: a timeout's own message names only the wait.
      const where = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const v = (globalThis as any).vigil;
        return JSON.stringify({
          selected: v?.state.selected,
          loading: v?.state.view?.loading,
          channels: [...(v?.state.view?.channels.keys() ?? [])],
          points: v?.chart?.data[1]?.length,
          machines: [...(v?.state.machines.keys() ?? [])],
        });
      }).catch((err) => `unreadable: ${err}`);
      throw new Error(
        `${e instanceof Error ? e.message : e}\npage: ${where}\n${problems.join("\n")}`,
        {
          cause: e,
        },
      );
    }
  } finally {
    await browser?.close();
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ended = await Promise.race([
      child.status.then(() => true),
      new Promise<boolean>((r) => timer = setTimeout(() => r(false), 15_000)),
    ]);
    clearTimeout(timer);
    if (!ended) {
      child.kill("SIGKILL");
      await child.status;
    }
    await Deno.remove(join(ROOT, dataDir), { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "dashboard in Chromium: live charts, slider, status buttons, anomaly table",
  // playwright-core keeps Chromium's pipe and timers in Node-compat resources of its own.
  sanitizeOps: false,
  sanitizeResources: false,
}, () =>
  withDashboard([], async ({ base, dataDir, page, problems }) => {
    // --- The default machine is the first of /machines, whichever machine's live reading the
    // page gets first: the engine knows all three before the page opens, and the page's
    // /machines request is answered only once live readings of every machine have come in.
    await until("m1, m2 and m3 in /machines", async () => {
      const ids = (await api(base, "/machines")).machines.map((m: { id: string }) => m.id);
      return ["m1", "m2", "m3"].every((id) => ids.includes(id)) ? ids : undefined;
    });
    let held: unknown = "the page never asked /machines";
    await page.route("**/machines", async (route) => {
      try {
        await until("live readings of 3 machines in the page", () =>
          page.evaluate(() =>
            // deno-lint-ignore no-explicit-any
            (globalThis as any).vigil.state.machines.size >= 3 ? true : undefined
          ));
        held = null;
      } catch (e) {
        held = e;
      } finally {
        await route.continue();
      }
    }, { times: 1 });
    const pageOpened = Date.now();
    await page.goto(base);
    await page.locator("#conn", { hasText: "live" }).waitFor();

    // --- Charts draw real readings: every point of the chart is a reading the engine stored.
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const d = (globalThis as any).vigil?.chart?.data;
      return d && d[1].filter((v: unknown) => typeof v === "number").length >= 20;
    });
    const first = (await chartData(page))!;
    assert.equal(held, null);
    assert.equal(first.machine, "m1");
    const [xs, values] = first.data as [number[], (number | null)[]];
    const history = await api(
      base,
      `/history?machine=m1&channel=${first.channel}&last=5000`,
    );
    const stored = new Map<number, number>(
      history.readings.map((r: { timestamp: string; value: number }) => [
        Date.parse(r.timestamp),
        r.value,
      ]),
    );
    let drawn = 0;
    for (let i = 0; i < xs.length; i++) {
      if (values[i] === null) continue;
      const t = Math.round(xs[i]! * 1000);
      assert.equal(stored.get(t), values[i], `chart point at ${new Date(t).toISOString()}`);
      drawn++;
    }
    assert.ok(drawn >= 20, `only ${drawn} points drawn`);
    for (let i = 1; i < xs.length; i++) assert.ok(xs[i]! > xs[i - 1]!, "x not increasing");

    // --- The ±z·σ band appears once the model (100 points at 10 readings/s) is full.
    const band = await until("the ±z·σ band", async () => {
      const d = (await chartData(page))!.data;
      const i = d[3]!.findLastIndex((v) => v !== null);
      if (i < 0) return undefined;
      return { mean: d[2]![i]!, lo: d[3]![i]!, hi: d[4]![i]! };
    });
    assert.ok(band.lo < band.mean && band.mean < band.hi, JSON.stringify(band));
    await page.locator("#modelFill").waitFor({ state: "hidden" });

    // --- The accumulated-anomaly chart counts up (fault rate 0.2 gives anomalies quickly).
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const d = (globalThis as any).vigil?.anomalyChart?.data;
      return d && d[1].length > 0 && d[1][d[1].length - 1] >= 1;
    });

    // --- An injected fault's anomaly shows in the live table within seconds.
    const injected = await until("an anomaly at an injected fault", async () => {
      const lines = (await Deno.readTextFile(join(ROOT, dataDir, FILES.stream))).split("\n");
      const faults = new Set<string>();
      for (const line of lines) {
        if (!line.includes('"injected"')) continue;
        const r = JSON.parse(line);
        faults.add(`${r.machine}|${r.timestamp}`);
      }
      const since = new Date(pageOpened).toISOString();
      const { anomalies } = await api(base, `/anomalies?since=${since}&limit=10000`);
      return (anomalies as { machine: string; timestamp: string; type: string }[])
        .findLast((a) => faults.has(`${a.machine}|${a.timestamp}`));
    });
    await page.locator(
      `#anomalyRows tr[data-machine="${injected.machine}"][data-type="${injected.type}"]` +
        `[data-timestamp="${injected.timestamp}"]`,
    ).first().waitFor({ timeout: 15_000 });
    assert.ok(await page.locator("#anomalyRows tr").count() <= 200, "table not capped");
    const sizes = await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const v = (globalThis as any).vigil;
      return Object.values(v.charts).map((c) => (c as { data: unknown[][] }).data[0]!.length);
    });
    for (const n of sizes) assert.ok(n > 0 && n <= 600, `a chart holds ${n} points`);

    // --- The machine picker switches the charts to another machine.
    await page.locator('#machineList [data-machine="m2"]').click();
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const v = (globalThis as any).vigil;
      return v.state.selected === "m2" && !v.state.view.loading &&
        v.chart?.data[1].filter((x: unknown) => typeof x === "number").length >= 5;
    });
    await page.locator('#machineList [data-machine="m1"]').click();
    await page.waitForFunction(() => {
      // deno-lint-ignore no-explicit-any
      const v = (globalThis as any).vigil;
      return v.state.selected === "m1" && !v.state.view.loading;
    });
    await page.locator('#machineList .machine.selected[data-machine="m1"]').waitFor();
    assert.equal(await page.locator("#machineList .machine.selected").count(), 1);

    // --- The time window selector reloads the charts from /history for that window.
    await page.selectOption("#window", "60");
    const reloaded = await until("the 1 min window", async () => {
      const ok = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const v = (globalThis as any).vigil;
        return v.state.windowSec === 60 && !v.state.view.loading && v.chart.data[0].length > 0;
      });
      return ok ? (await chartData(page))! : undefined;
    });
    const rx = reloaded.data[0] as number[];
    assert.ok(rx.at(-1)! - rx[0]! <= 60, `1 min window spans ${rx.at(-1)! - rx[0]!} s`);
    // 1 min / 600 points: every reading (10 per s) is its own point, straight from history.
    assert.ok(rx.length >= 30, `only ${rx.length} points in the 1 min window`);
    for (let i = 1; i < rx.length; i++) assert.ok(rx[i]! > rx[i - 1]!, "x not increasing");
    // Every anomaly mark is an anomaly the engine raised on this machine and channel, and
    // every such anomaly inside the drawn range is marked.
    // From 0.2 s before the first point: an anomaly whose reading was thinned into that point
    // (its bucket began before the window's cut) is marked on it.
    const { anomalies: raised } = await api(
      base,
      `/anomalies?machine=m1&since=${new Date(rx[0]! * 1000 - 200).toISOString()}&limit=10000`,
    );
    const near = (raised as { timestamp: string; channel: string; value: number }[])
      .filter((a) =>
        a.channel === reloaded.channel && Date.parse(a.timestamp) <= rx.at(-1)! * 1000
      );
    const mine = near.filter((a) => Date.parse(a.timestamp) >= rx[0]! * 1000);
    // Seed 42 gives m1 temperature faults within its first 100 readings, which the band wait
    // above has seen: the checks below are not vacuous.
    assert.ok(mine.length > 0, `no ${reloaded.channel} anomaly of m1 in the window`);
    // A z-score anomaly raises one event when it starts; /history flags each of its readings.
    const flagged = (await api(
      base,
      `/history?machine=m1&channel=${reloaded.channel}&last=5000`,
    )).readings.filter((r: { anomaly: boolean }) => r.anomaly) as {
      timestamp: string;
      value: number;
    }[];
    const marks = reloaded.data[5]!;
    for (let i = 0; i < rx.length; i++) {
      if (marks[i] === null) continue;
      assert.ok(
        [...near, ...flagged].some((a) =>
          a.value === marks[i] && Math.abs(Date.parse(a.timestamp) - rx[i]! * 1000) <= 200
        ),
        `mark ${marks[i]} at ${new Date(rx[i]! * 1000).toISOString()} is no anomaly of m1`,
      );
    }
    for (const a of mine) {
      const t = Date.parse(a.timestamp) / 1000;
      // The newest second may hold a reading whose event the page has not drawn yet.
      if (t > rx.at(-1)! - 1) continue;
      // A point holds one mark: two anomalies of readings thinned into one point show the later.
      const sharing = (x: number, mark: number) =>
        near.some((o) => o.value === mark && Math.abs(Date.parse(o.timestamp) / 1000 - x) <= 0.2);
      assert.ok(
        rx.some((x, i) =>
          marks[i] !== null && Math.abs(x - t) <= 0.2 &&
          (marks[i] === a.value || sharing(x, marks[i]!))
        ),
        `anomaly ${JSON.stringify(a)} not marked`,
      );
    }

    // --- The z-threshold slider changes /control (five steps of 0.1 from 3).
    const before = (await api(base, "/control")).data;
    assert.equal(before.z_threshold, 3);
    const slider = page.locator("#zThreshold");
    await slider.focus();
    for (let i = 0; i < 5; i++) await slider.press("ArrowRight");
    await until("z_threshold 3.5 in /control", async () => {
      const z = (await api(base, "/control")).data.z_threshold;
      return Math.abs(z - 3.5) < 1e-9 ? z : undefined;
    });
    assert.equal(await page.locator("#zValue").textContent(), "3.5");
    const level = page.locator("#anomalyLevel");
    await level.focus();
    await level.press("ArrowRight");
    await until("anomaly_level 0.05 in /control", async () => {
      const l = (await api(base, "/control")).data.anomaly_level;
      return Math.abs(l - 0.05) < 1e-9 ? l : undefined;
    });

    // --- Stop: the simulator pauses, so the status set next is not moved on by its cycle. An
    // alarm clears 20 normal readings after it rose (its off-delay), so stop while one is
    // active, or the alarm panel's check below would have nothing to compare: with nothing
    // read while stopped, nothing raises or clears. A clear can slip in between the look and the
    // stop, so look again once stopped, and run on for another try if it did (bounded).
    for (let attempt = 1;; attempt++) {
      await until("an active alarm", async () => {
        return (await api(base, "/alarms")).count > 0 ? true : undefined;
      });
      await page.locator("#runToggle", { hasText: "Stop simulator" }).click();
      await until("running false in /control", async () => {
        return (await api(base, "/control")).data.running === false ? true : undefined;
      });
      await page.locator("#runToggle", { hasText: "Start simulator" }).waitFor();
      if ((await api(base, "/alarms")).count > 0) break;
      assert.ok(
        attempt < 20,
        "every alarm had cleared by the time the simulator stopped, 20 times",
      );
      await page.locator("#runToggle", { hasText: "Start simulator" }).click();
      await page.locator("#runToggle", { hasText: "Stop simulator" }).waitFor();
    }

    // --- A status button changes /status; only the allowed transitions are enabled.
    const current = (await api(base, "/status?machine=m1")).data.status as MachineStatus;
    await page.locator("#badge", { hasText: current }).waitFor();
    const enabled = await page.locator("#transitions button:enabled").allTextContents();
    assert.deepEqual([...enabled].sort(), [...TRANSITIONS[current]].sort());
    const target = TRANSITIONS[current][0]!;
    await page.locator(`#transitions button[data-status="${target}"]`).click();
    await until(`m1 ${target} in /status`, async () => {
      const s = (await api(base, "/status?machine=m1")).data.status;
      return s === target ? s : undefined;
    });
    await page.locator("#badge", { hasText: target }).waitFor();
    await page.locator(`#machineList [data-machine="m1"] .dot.s-${target}`).waitFor();
    const after = await page.locator("#transitions button:enabled").allTextContents();
    assert.deepEqual([...after].sort(), [...TRANSITIONS[target]].sort());

    // --- Active alarms: with the simulator stopped the engine's set stops changing, and the
    // panel (kept live by the events, re-read from /alarms every 5 s) must then show exactly
    // what /alarms answers: same alarms, same order, same counts.
    const alarms = await until("the active-alarm panel to match /alarms", async () => {
      const answer = await api(base, "/alarms");
      const shown = await page.locator("#alarmRows tr").evaluateAll((rows) =>
        // deno-lint-ignore no-explicit-any
        rows.map((r) => ({ ...(r as any).dataset }))
      );
      const expected = (answer.alarms as Record<string, unknown>[]).slice(0, 500).map((a) => ({
        machine: a.machine,
        type: a.type,
        channel: a.channel ?? "",
        severity: a.severity,
        raisedAt: a.raised_at,
        count: String(a.count),
        incident: a.incident ?? "",
      }));
      const badge = await page.locator("#alarmCount").textContent();
      try {
        assert.deepEqual(shown, expected);
        assert.equal(badge, String(answer.count));
      } catch {
        return undefined;
      }
      return answer as { count: number; alarms: { machine: string; type: string }[] };
    });
    // Faults were injected and raised anomalies (above): some are active alarms.
    assert.ok(alarms.count > 0, "no active alarm after the injected faults");
    assert.equal(await page.locator("#alarmEmpty").isVisible(), false);
    assert.ok(await page.locator("#alarmRows tr").count() <= 500, "alarm panel not capped");
    // Clicking an alarm selects its machine.
    const other = alarms.alarms.find((a) => a.machine !== "m1") ?? alarms.alarms[0]!;
    await page.locator(
      `#alarmRows tr[data-machine="${other.machine}"][data-type="${other.type}"]`,
    ).first().click();
    await page.waitForFunction((m) => {
      // deno-lint-ignore no-explicit-any
      const v = (globalThis as any).vigil;
      return v.state.selected === m && !v.state.view.loading;
    }, other.machine);
    await page.locator(`#machineList .machine.selected[data-machine="${other.machine}"]`).waitFor();
    await page.locator(`#alarmRows tr.selected[data-machine="${other.machine}"]`).first().waitFor();

    // --- Start again: readings flow and the chart grows.
    await page.locator("#runToggle", { hasText: "Start simulator" }).click();
    await until("running true in /control", async () => {
      return (await api(base, "/control")).data.running === true ? true : undefined;
    });

    await Deno.mkdir(join(ROOT, "test-output"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-output", "dashboard.png"), fullPage: true });
    assert.deepEqual(problems, [], "the page logged errors");
  }));

Deno.test({
  name: "dashboard in Chromium with --token: writes need the token typed into the page",
  sanitizeOps: false,
  sanitizeResources: false,
}, () =>
  withDashboard(["--token", "plant-7"], async ({ base, page, problems }) => {
    // Reads are never gated: the page and its data load without the token.
    await page.goto(base);
    await page.locator("#conn", { hasText: "live" }).waitFor();
    await page.locator("#zThreshold:enabled").waitFor();
    const slider = page.locator("#zThreshold");
    await slider.focus();
    await slider.press("ArrowRight");
    await page.locator("#message.error", { hasText: "Missing bearer token" }).waitFor();
    assert.equal((await api(base, "/control")).data.z_threshold, 3, "changed without a token");
    // The refused change is not shown as applied: the slider is back at the engine's value.
    assert.equal(await page.locator("#zValue").textContent(), "3.0");

    await page.locator("#token").fill("plant-7");
    await slider.focus();
    await slider.press("ArrowRight");
    await until("z_threshold 3.1 in /control", async () => {
      const z = (await api(base, "/control")).data.z_threshold;
      return Math.abs(z - 3.1) < 1e-9 ? z : undefined;
    });

    // A poll answered while a write is pending carries the value from before the write: it must
    // not set the slider back, or the next key press steps from the old value (seen as a flake of
    // the five presses above under load). The writes are held until a poll has been answered.
    let release!: () => void;
    const held = new Promise<void>((resolve) => release = resolve);
    await page.route("**/control", async (route) => {
      if (route.request().method() === "POST") await held;
      await route.continue();
    });
    await slider.focus();
    await slider.press("ArrowRight"); // 3.2, held
    await page.waitForResponse((r) =>
      new URL(r.url()).pathname === "/control" && r.request().method() === "GET"
    );
    await slider.press("ArrowRight"); // 3.3, unless the poll set the slider back to 3.1
    release();
    await until("z_threshold 3.3 in /control", async () => {
      const z = (await api(base, "/control")).data.z_threshold;
      return Math.abs(z - 3.3) < 1e-9 ? z : undefined;
    }, 15_000);
    assert.equal(await page.locator("#zValue").textContent(), "3.3");
    // The only complaint is the browser's own line for the refused request.
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0]!, /status of 401/);
  }));
