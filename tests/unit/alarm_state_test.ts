/**
 * The alarm state machine alone (engine/detect/alarm_state.ts): flag bits in, transitions out,
 * no kernel, readings or texts.
 */
import assert from "node:assert/strict";
import { AlarmState, bandHold } from "../../engine/detect/alarm_state.ts";
import { FLAG } from "../../engine/mod.ts";

const { HIGH, LOW, RAPID, ZSCORE, DEVIATION, TREND_UP, MODEL_FULL } = FLAG;

/** `[rising, clearing]` after each of `flags` on stream 0, with `step` doing one call. */
function run(flags: number[], step: (s: AlarmState, live: number) => void): number[][] {
  const s = new AlarmState(1);
  return flags.map((live) => {
    step(s, live);
    return [s.rising, s.clearing];
  });
}

Deno.test("edge: a state is raised when its flag comes on, again after one reading without", () => {
  const edge = (s: AlarmState, live: number) => s.edge(0, live);
  assert.deepEqual(run([0, HIGH, HIGH | ZSCORE, HIGH, 0, HIGH], edge), [
    [0, 0],
    [HIGH, 0],
    [ZSCORE, 0],
    [0, 0],
    [0, 0], // ends silently: no clearing in edge mode
    [HIGH, 0],
  ]);
});

Deno.test("edge: a rapid change is raised on every flagged reading; other bits are no alarms", () => {
  const edge = (s: AlarmState, live: number) => s.edge(0, live);
  assert.deepEqual(run([RAPID, RAPID | TREND_UP, MODEL_FULL | TREND_UP], edge), [
    [RAPID, 0],
    [RAPID, 0],
    [0, 0],
  ]);
});

Deno.test("hysteresis: raised once, cleared once after clearAfter normal readings in a row", () => {
  const hysteresis = (s: AlarmState, live: number) => s.hysteresis(0, live, 0, 3);
  assert.deepEqual(run([HIGH, HIGH, 0, 0, HIGH, 0, 0, 0, 0], hysteresis), [
    [HIGH, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0], // flagged again before the third normal reading: the count starts over
    [0, 0],
    [0, 0],
    [0, HIGH],
    [0, 0],
  ]);
});

Deno.test("hysteresis: a rapid change is a state too; each alarm counts on its own", () => {
  const hysteresis = (s: AlarmState, live: number) => s.hysteresis(0, live, 0, 2);
  assert.deepEqual(run([RAPID | DEVIATION, RAPID, 0, 0], hysteresis), [
    [RAPID | DEVIATION, 0],
    [0, 0],
    [0, DEVIATION],
    [0, RAPID],
  ]);
});

Deno.test("hysteresis: a held reading neither clears nor counts", () => {
  const s = new AlarmState(1);
  s.hysteresis(0, LOW, 0, 2);
  s.hysteresis(0, 0, 0, 2); // 1 normal
  s.hysteresis(0, 0, LOW, 2); // held: back to 0
  assert.equal(s.clearing, 0);
  s.hysteresis(0, 0, HIGH, 2); // holding an alarm that is not raised changes nothing: 1
  assert.equal(s.clearing, 0);
  s.hysteresis(0, 0, 0, 2); // 2
  assert.equal(s.clearing, LOW);
  assert.equal(s.raised(0), 0);
});

Deno.test("streams are independent; reset() puts every alarm down", () => {
  const s = new AlarmState(2);
  s.hysteresis(0, HIGH, 0, 1);
  s.edge(1, ZSCORE);
  assert.equal(s.raised(0), HIGH);
  assert.equal(s.raised(1), ZSCORE);
  s.hysteresis(1, 0, 0, 1);
  assert.deepEqual([s.rising, s.clearing], [0, ZSCORE]);
  assert.equal(s.raised(0), HIGH);
  s.reset();
  assert.deepEqual([s.raised(0), s.raised(1)], [0, 0]);
  s.hysteresis(0, HIGH, 0, 1);
  assert.equal(s.rising, HIGH); // raised again after a reset
});

Deno.test("bandHold: within clearBand of the alert range or maxDelta; nothing without a band", () => {
  const c = { alert: [10, 80] as [number, number], maxDelta: 5, clearBand: 2 };
  assert.equal(bandHold(c, 79, 0), HIGH);
  assert.equal(bandHold(c, 78, 0), 0);
  assert.equal(bandHold(c, 11, 0), LOW);
  assert.equal(bandHold(c, 50, -3.5), RAPID);
  assert.equal(bandHold(c, 50, 3), 0);
  assert.equal(bandHold({ ...c, clearBand: 0 }, 79.9, 4.9), 0);
  assert.equal(bandHold({ clearBand: 2 }, 1e9, 1e9), 0); // no limits: nothing to hold
});

Deno.test("delays: raised after onDelay flagged readings in a row, cleared after offDelay normal", () => {
  const delays = (s: AlarmState, live: number) => s.delays(0, live, 0, 3, 2);
  assert.deepEqual(run([HIGH, HIGH, 0, HIGH, HIGH, HIGH, HIGH, 0, HIGH, 0, 0, 0], delays), [
    [0, 0],
    [0, 0],
    [0, 0], // two flagged readings, then a normal one: the on count starts over
    [0, 0],
    [0, 0],
    [HIGH, 0], // the third in a row raises
    [0, 0], // raised once
    [0, 0],
    [0, 0], // flagged again: the off count starts over
    [0, 0],
    [0, HIGH], // the second normal reading in a row clears
    [0, 0], // cleared once
  ]);
});

Deno.test("delays: one raise and one clear per episode, each alarm on its own, RAPID a state", () => {
  const s = new AlarmState(2);
  const rises: number[] = [], clears: number[] = [];
  // Stream 1: two episodes of flickering RAPID | DEVIATION, each ended by 20 quiet readings.
  const episode = [RAPID | DEVIATION, RAPID, 0, RAPID, 0, DEVIATION, ...Array(20).fill(0)];
  for (const live of [...episode, ...episode]) {
    s.delays(1, live, 0, 1, 20);
    rises.push(s.rising);
    clears.push(s.clearing);
    s.delays(0, 0, 0, 1, 20); // another stream's readings change nothing of stream 1
  }
  const count = (xs: number[], bit: number) => xs.filter((x) => x & bit).length;
  assert.equal(count(rises, RAPID), 2);
  assert.equal(count(clears, RAPID), 2);
  assert.equal(count(rises, DEVIATION), 2);
  assert.equal(count(clears, DEVIATION), 2);
  assert.equal(s.raised(1), 0);
  assert.equal(s.raised(0), 0);
});

Deno.test("delays: a held reading neither sustains nor clears; hysteresis is delays with onDelay 1", () => {
  const held = (s: AlarmState, live: number) => s.delays(0, live, live === 0 ? 0 : HIGH, 1, 2);
  // live LOW stands for "held for HIGH" here: HIGH is not flagged but its count restarts.
  assert.deepEqual(run([HIGH, 0, LOW, 0, 0], held).map(([r, c]) => [r! & HIGH, c! & HIGH]), [
    [HIGH, 0],
    [0, 0],
    [0, 0], // held: the one normal reading before does not add up with the next
    [0, 0],
    [0, HIGH],
  ]);
  const a = run([HIGH, 0, HIGH, 0, 0, 0], (s, live) => s.hysteresis(0, live, 0, 3));
  const b = run([HIGH, 0, HIGH, 0, 0, 0], (s, live) => s.delays(0, live, 0, 1, 3));
  assert.deepEqual(a, b);
});

Deno.test("AlarmState: any single bits; not a single bit is refused naming it", () => {
  const s = new AlarmState(1, [1]);
  s.delays(0, 1, 0, 1, 1);
  assert.equal(s.rising, 1);
  s.delays(0, 0, 0, 1, 1);
  assert.equal(s.clearing, 1);
  assert.throws(() => new AlarmState(1, [3]), /single bit, got 3/);
});
