/**
 * `main.ts eval` as a subprocess on tiny NAB and SKAB fixtures whose alarm rows are known by
 * construction (see each test), checked against figures computed here.
 */
import assert from "node:assert/strict";
import { scoreAlarmCorpus } from "../../engine/eval/nab_scorer.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/eval/", import.meta.url).pathname;

async function evalRun(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", MAIN, "eval", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("eval NAB: the spikes are the alarms; NAB figures match a hand count", async () => {
  // realTest/spikes.csv: 200 rows 5 min apart alternating 10/11 (|z| = 1), with 100 at rows 60,
  // 120, 125 and 185 (|z| huge, the model full after 20 rows): each is one ZSCORE alarm.
  // Windows: rows 110–130 (caught at 120, 10 rows = 50 min late; 125 inside too) and 150–160
  // (missed). Probation: floor(0.15 × 200) = 30 rows. False alarms: 60 and 185.
  // The z-score semantics: --detector zscore (the adaptive detector warms up for 400 readings).
  const { code, stdout } = await evalRun(
    `${FIXTURES}nab_spikes`,
    "--model-size",
    "20",
    "--detector",
    "zscore",
    "--json",
  );
  assert.equal(code, 0);
  const r = JSON.parse(stdout);
  assert.equal(r.layout, "nab");
  assert.deepEqual(r.flags, ["--model-size=20", "--detector=zscore"]);
  const f = r.files[0];
  assert.equal(f.name, "realTest/spikes.csv");
  assert.deepEqual(f.alarmRows, [60, 120, 125, 185]);
  assert.equal(f.windowsCaught, 1);
  assert.equal(f.windows, 2);
  assert.equal(f.falseAlarms, 2);
  assert.equal(f.alarmsInWindows, 2);
  assert.equal(f.alarmsPerCaughtWindow, 2);
  assert.equal(f.meanDelayRows, 10);
  assert.equal(f.meanDelayMinutes, 50);
  // NAB's scores of those four alarm rows, through the scorer port (tested on its own).
  const timestamps = Array.from({ length: 200 }, (_, i) => Date.UTC(2014, 3, 10) + i * 300_000);
  const expected = scoreAlarmCorpus([{
    name: "realTest/spikes.csv",
    timestamps,
    alarms: timestamps.map((_, i) => [60, 120, 125, 185].includes(i)),
    windows: [[timestamps[110]!, timestamps[130]!], [timestamps[150]!, timestamps[160]!]],
  }]);
  assert.deepEqual(r.corpus.scores, expected.normalized);
  assert.ok(r.corpus.scores.standard > 0 && r.corpus.scores.standard < 100);
  assert.equal(r.published[0].detector, "ARTime");
});

Deno.test("eval NAB: a category folder of a NAB root is NAB too; missing label keys are listed", async () => {
  const cat = await evalRun(`${FIXTURES}nab/realTest`, "--json");
  assert.equal(cat.code, 0);
  assert.deepEqual(JSON.parse(cat.stdout).files.map((f: { name: string }) => f.name), [
    "realTest/tiny.csv",
    "realTest/quiet.csv",
  ]);
  const root = await evalRun(`${FIXTURES}nab`, "--json");
  assert.deepEqual(JSON.parse(root.stdout).missing, ["realOther/not_here.csv"]);
});

Deno.test("eval NAB: a clone of numenta/NAB (CSVs under data/, labels beside it) from its root, data/ or a category", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    // The fixture root laid out as the NAB repository is: <root>/data/<category>, <root>/labels.
    await Deno.mkdir(`${tmp}/NAB/data`, { recursive: true });
    await Deno.mkdir(`${tmp}/NAB/labels`);
    await Deno.copyFile(
      `${FIXTURES}nab/labels/combined_windows.json`,
      `${tmp}/NAB/labels/combined_windows.json`,
    );
    await Deno.mkdir(`${tmp}/NAB/data/realTest`);
    for await (const f of Deno.readDir(`${FIXTURES}nab/realTest`)) {
      await Deno.copyFile(
        `${FIXTURES}nab/realTest/${f.name}`,
        `${tmp}/NAB/data/realTest/${f.name}`,
      );
    }
    const expected = JSON.parse((await evalRun(`${FIXTURES}nab/realTest`, "--json")).stdout);
    for (const path of [`${tmp}/NAB`, `${tmp}/NAB/data`, `${tmp}/NAB/data/realTest`]) {
      const out = await evalRun(path, "--json");
      assert.equal(out.code, 0, out.stderr);
      const r = JSON.parse(out.stdout);
      assert.deepEqual(r.files.map((f: { name: string }) => f.name), [
        "realTest/tiny.csv",
        "realTest/quiet.csv",
      ], path);
      assert.deepEqual(r.corpus, expected.corpus, path);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("eval SKAB: labels stripped, alarm states per row, F1/FAR/MAR after 400 rows and on all", async () => {
  // valve1/0.csv: 460 rows 1 s apart; anomaly = 1 on rows 420–439. With limits.json, Current
  // breaches (CRITICAL, cleared by INFO at the next normal reading) on rows 100–102 and 425–434,
  // Pressure on rows 430–444; the z-score is switched off (--z-threshold 1000). So the state is
  // raised on rows 100–102 and 425–444. anomaly-free/ is skipped. The limits alone: the
  // z-score detector (--detector zscore) with its alarm switched off.
  const { code, stdout } = await evalRun(
    `${FIXTURES}skab_alarms`,
    "--json",
    "--config",
    `${FIXTURES}skab_alarms/limits.json`,
    "--z-threshold",
    "1000",
    "--detector",
    "zscore",
  );
  assert.equal(code, 0);
  const r = JSON.parse(stdout);
  assert.equal(r.layout, "skab");
  assert.equal(r.skipRows, 400);
  assert.deepEqual(r.files.map((f: { name: string }) => f.name), ["valve1/0.csv"]);
  assert.deepEqual(r.files[0].alarmSpans, [[100, 102], [425, 444]]);
  // After row 400 (60 rows): tp 425–439 = 15, fp 440–444 = 5, fn 420–424 = 5, tn 35.
  const after = { tp: 15, fp: 5, fn: 5, tn: 35 };
  assert.deepEqual(
    {
      tp: r.corpus.afterTraining.tp,
      fp: r.corpus.afterTraining.fp,
      fn: r.corpus.afterTraining.fn,
      tn: r.corpus.afterTraining.tn,
    },
    after,
  );
  assert.equal(r.corpus.afterTraining.f1, 15 / (15 + (5 + 5) / 2));
  assert.equal(r.corpus.afterTraining.far, 5 / (5 + 35) * 100);
  assert.equal(r.corpus.afterTraining.mar, 5 / (5 + 15) * 100);
  // All 460 rows: rows 100–102 add 3 false alarms.
  assert.equal(r.corpus.allRows.fp, 8);
  assert.equal(r.corpus.allRows.tn, 432);
  assert.equal(r.corpus.allRows.far, 8 / 440 * 100);
});

Deno.test("eval: the table names the figures and the published ones", async () => {
  const { code, stdout } = await evalRun(`${FIXTURES}skab_alarms`, "--z-threshold", "1000");
  assert.equal(code, 0);
  assert.match(stdout, /after the first 400 rows/);
  assert.match(stdout, /Conv-AE F1 0\.78 FAR 13\.55% MAR 28\.02%/);
  const nab = await evalRun(`${FIXTURES}nab_spikes`);
  assert.match(nab.stdout, /ARTime 63\.9/);
});

Deno.test("eval: a bad path or a folder of neither kind exits 2 with one line naming it", async () => {
  for (const path of [`${FIXTURES}no_such_folder`, `${FIXTURES}skab/anomaly-free`]) {
    const { code, stdout, stderr } = await evalRun(path);
    assert.equal(code, 2);
    assert.equal(stdout, "");
    assert.equal(stderr.trim().split("\n").length, 1);
    assert.ok(stderr.includes(path), stderr);
  }
  const refused = await evalRun(`${FIXTURES}nab`, "--data-dir", "x");
  assert.equal(refused.code, 2);
});

Deno.test("eval --event-types: only events of those types count; a bad list exits 2 naming it", async () => {
  const args = [`${FIXTURES}nab_spikes`, "--model-size", "20", "--detector", "zscore", "--json"];
  // The spikes' alarms are ZSCORE_VALUE: counted when named, gone when only another type counts.
  const named = JSON.parse((await evalRun(...args, "--event-types", "ZSCORE_VALUE")).stdout);
  assert.deepEqual(named.eventTypes, ["ZSCORE_VALUE"]);
  assert.deepEqual(named.flags, ["--model-size=20", "--detector=zscore"]);
  assert.deepEqual(named.files[0].alarmRows, [60, 120, 125, 185]);
  const other = JSON.parse((await evalRun(...args, "--event-types", "ISOLATION_FOREST")).stdout);
  assert.deepEqual(other.files[0].alarmRows, []);
  for (const bad of ["zscore_value", "A,,B"]) {
    const r = await evalRun(...args, "--event-types", bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`bad value for --event-types: "${bad}"`));
  }
});
