/**
 * Vibration features: known answers (sine, DC, Parseval, a naive DFT oracle), WebAssembly
 * against the TypeScript reference (random and simulated frames), the `vibration` simulator
 * (faults move the expected features, reproducibility, labels) and bad configurations.
 *
 * Needs build/wasm/vibration.wasm: `deno task build:wasm` first.
 *
 * Past ~400 lines: the whole suite of one component (vibration), whose cases share the fixtures
 * and helpers of this file; the tests are split by component, not by length.
 */
import assert from "node:assert/strict";
import { createGaussian, createPrng } from "../../simulator/prng.ts";
import {
  type VibrationFault,
  VibrationSimulator,
  type VibrationTick,
} from "../../simulator/vibration_simulator.ts";
import {
  DEFAULT_VIBRATION_BANDS,
  type FrequencyBand,
  ReferenceVibrationFeatures,
  type VibrationFeatureExtractor,
  type VibrationFeatureOptions,
  type VibrationWindow,
  WasmVibrationFeatures,
} from "../../engine/mod.ts";

// ---------------------------------------------------------------- helpers

const IMPLEMENTATIONS = [
  ["wasm", (o: VibrationFeatureOptions) => new WasmVibrationFeatures(o)],
  ["reference", (o: VibrationFeatureOptions) => new ReferenceVibrationFeatures(o)],
] as const;
const WINDOWS: readonly VibrationWindow[] = ["none", "hann"];

const RMS = 0;
const P2P = 1;
const CREST = 2;
const KURT = 3;
const DOM = 4;
const BAND = 5;

/** Rows copied out of an extractor (its result may be a view over WASM memory). */
function rowsOf(fx: VibrationFeatureExtractor, samples: Float64Array, frames: number): number[][] {
  const out = fx.extract(samples, frames);
  assert.equal(out.length, frames * fx.width);
  const rows: number[][] = [];
  for (let f = 0; f < frames; f++) {
    rows.push(Array.from(out.subarray(f * fx.width, (f + 1) * fx.width)));
  }
  return rows;
}

function close(got: number, want: number, tol: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want} ± ${tol}`);
}

/** A·sin(2π f t + phase) + offset, sampled at fs. */
function sine(n: number, fs: number, a: number, f: number, phase = 0, offset = 0): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = offset + a * Math.sin((2 * Math.PI * f * i) / fs + phase);
  return x;
}

/** Bands of one bin each with fs = N (bins 1 Hz apart): band k holds bin k, k = 0…N/2. */
function binBands(n: number): FrequencyBand[] {
  const m = n / 2;
  const bands: FrequencyBand[] = [];
  for (let k = 0; k < m - 1; k++) bands.push([k, k + 1]);
  bands.push([m - 1, m - 0.5], [m - 0.5, m]); // a band ending at Nyquist takes the Nyquist bin
  return bands;
}

/**
 * The oracle: one-sided power of the windowed frame by a naive O(N²) DFT in the documented
 * normalisation, and the dominant bin of the mean-removed frame.
 */
function naiveSpectrum(x: Float64Array, window: VibrationWindow): { power: number[]; dom: number } {
  const n = x.length;
  const w = Array.from(
    { length: n },
    (_, i) => window === "hann" ? 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n) : 1,
  );
  const sumW2 = w.reduce((s, v) => s + v * v, 0);
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const power: number[] = [];
  let dom = 0;
  let best = -1;
  for (let k = 0; k <= n / 2; k++) {
    let re = 0, im = 0, re0 = 0, im0 = 0;
    for (let i = 0; i < n; i++) {
      const a = (-2 * Math.PI * k * i) / n;
      re += w[i]! * x[i]! * Math.cos(a);
      im += w[i]! * x[i]! * Math.sin(a);
      re0 += w[i]! * (x[i]! - mean) * Math.cos(a);
      im0 += w[i]! * (x[i]! - mean) * Math.sin(a);
    }
    const c = k === 0 || k === n / 2 ? 1 : 2;
    power.push((c * (re * re + im * im)) / (n * sumW2));
    const p0 = (c * (re0 * re0 + im0 * im0)) / (n * sumW2);
    if (k >= 1 && p0 > best) {
      best = p0;
      dom = k;
    }
  }
  return { power, dom };
}

/** `frames` random frames: Gaussian noise plus a few random sines and a random offset. */
function randomFrames(seed: number, frames: number, n: number): Float64Array {
  const random = createPrng(seed);
  const normal = createGaussian(random);
  const x = new Float64Array(frames * n);
  for (let f = 0; f < frames; f++) {
    const scale = 10 ** (6 * random() - 3);
    const offset = (random() - 0.5) * 4 * scale;
    const lines = Array.from(
      { length: 3 },
      () => [scale * 3 * random(), (n / 2) * random(), 6.3 * random()] as const,
    );
    for (let i = 0; i < n; i++) {
      let v = offset + scale * normal();
      for (const [a, k, p] of lines) v += a * Math.sin((2 * Math.PI * k * i) / n + p);
      x[f * n + i] = v;
    }
  }
  return x;
}

/** WASM and reference rows agree within 1e-9, relative to the larger magnitude (at least 1). */
function assertAgree(a: number[][], b: number[][], what: string): void {
  assert.equal(a.length, b.length);
  for (let f = 0; f < a.length; f++) {
    for (let c = 0; c < a[f]!.length; c++) {
      const x = a[f]![c]!;
      const y = b[f]![c]!;
      const tol = 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
      assert.ok(
        Math.abs(x - y) <= tol,
        `${what}: frame ${f} column ${c}: wasm ${x}, reference ${y}`,
      );
    }
  }
}

// ---------------------------------------------------------------- known answers

Deno.test("a pure sine on a bin: rms A/√2, peak-to-peak 2A, crest √2, kurtosis 1.5, peak bin f·N/fs", () => {
  const n = 1024;
  const fs = 4096;
  const a = 3;
  for (const [name, make] of IMPLEMENTATIONS) {
    for (const window of WINDOWS) {
      // One band per bin, so the band energies are the power spectrum.
      const fx = make({ frameSize: n, sampleRate: n, window, bands: binBands(n) });
      for (const f of [100, 404, 1000]) {
        const what = `${name}/${window}/${f} Hz`;
        const x = sine(n, fs, a, f, 0.3);
        const [row] = rowsOf(fx, x, 1);
        // Peaks are sampled at most half a sample from the true peak.
        const lowPeak = a * Math.cos((Math.PI * f) / fs);
        close(row![RMS]!, a / Math.SQRT2, 1e-12, `${what} rms`);
        assert.ok(
          row![P2P]! <= 2 * a + 1e-12 && row![P2P]! >= 2 * lowPeak,
          `${what} p2p ${row![P2P]}`,
        );
        assert.ok(
          row![CREST]! <= Math.SQRT2 + 1e-12 && row![CREST]! >= (lowPeak / a) * Math.SQRT2,
          `${what} crest ${row![CREST]}`,
        );
        close(row![KURT]!, 1.5, 1e-9, `${what} kurtosis`);
        // fs = N in the extractor's options: its "Hz" are bins.
        const bin = (f * n) / fs;
        close(row![DOM]!, bin, 0, `${what} dominant bin`);
        const power = row!.slice(BAND);
        let peak = 0;
        for (let k = 1; k < power.length; k++) if (power[k]! > power[peak]!) peak = k;
        assert.equal(peak, bin, `${what}: the FFT peak sits in bin ${bin}`);
        if (window === "none") {
          close(power[bin]!, (a * a) / 2, 1e-9, `${what} power of the peak bin`);
          const rest = power.reduce((s, p, k) => s + (k === bin ? 0 : p), 0);
          assert.ok(rest < 1e-20, `${what}: no leakage on a bin, got ${rest}`);
        } else {
          // Hann: the line spreads over bins k-1, k, k+1 in the ratio 1/4 : 1 : 1/4 (amplitude).
          close(power[bin]!, (a * a) / 2 / 1.5, 1e-9, `${what} power of the peak bin`);
          close(power[bin - 1]!, (a * a) / 2 / 6, 1e-9, `${what} power of bin k-1`);
        }
      }
    }
  }
});

Deno.test("the dominant frequency is reported in Hz", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    const fx = make({ frameSize: 1024, sampleRate: 4000 });
    const f = (37 * 4000) / 1024; // bin 37
    const [row] = rowsOf(fx, sine(1024, 4000, 1, f), 1);
    close(row![DOM]!, f, 1e-12, `${name}: dominant frequency`);
  }
});

Deno.test("a DC frame: rms = |c|, peak-to-peak 0, crest 1, kurtosis and dominant 0, all power in the band holding 0 Hz", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    for (const window of WINDOWS) {
      const fx = make({ frameSize: 256, sampleRate: 1000, window, bands: [[0, 10], [10, 500]] });
      const x = new Float64Array(512);
      x.fill(2.5, 0, 256);
      x.fill(-3, 256);
      const rows = rowsOf(fx, x, 2);
      for (const [row, c] of [[rows[0]!, 2.5], [rows[1]!, -3]] as const) {
        const what = `${name}/${window}/DC ${c}`;
        assert.equal(row[RMS], Math.abs(c), `${what} rms`);
        assert.equal(row[P2P], 0, `${what} p2p`);
        assert.equal(row[CREST], 1, `${what} crest`);
        assert.equal(row[KURT], 0, `${what} kurtosis (constant frame)`);
        assert.equal(row[DOM], 0, `${what} dominant`);
        close(row[BAND]!, c * c, 1e-12, `${what} band 0–10 Hz`);
        close(row[BAND + 1]!, 0, 1e-20, `${what} band 10–500 Hz`);
      }
    }
  }
});

Deno.test("an all-zero frame gives zeros, not NaN", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    const fx = make({ frameSize: 64, sampleRate: 64, bands: [[0, 32]] });
    const [row] = rowsOf(fx, new Float64Array(64), 1);
    assert.deepEqual(row, new Array(fx.width).fill(0), name);
  }
});

Deno.test("a DC offset does not pull the dominant frequency to bin 1 (mean removed for it)", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    for (const window of WINDOWS) {
      const fx = make({ frameSize: 512, sampleRate: 512, window, bands: [[0, 256]] });
      const [row] = rowsOf(fx, sine(512, 512, 0.5, 9, 0.1, 20), 1);
      assert.equal(row![DOM], 9, `${name}/${window}`);
    }
  }
});

Deno.test("Parseval: bands tiling 0…fs/2 sum to the mean square (exact without window)", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    // Default bands tile 0…2000 Hz at the default 4 kHz.
    const fx = make({ window: "none" });
    assert.deepEqual(fx.options.bands, DEFAULT_VIBRATION_BANDS);
    const x = randomFrames(11, 16, 1024);
    rowsOf(fx, x, 16).forEach((row, f) => {
      const total = row.slice(BAND).reduce((s, e) => s + e, 0);
      const rms2 = row[RMS]! * row[RMS]!;
      close(total, rms2, 1e-12 * rms2, `${name}: frame ${f}`);
    });
    // Hann: exact for DC plus a sine on bin 3…N/2-2 (the w²-weighted mean square equals it).
    const hann = make({
      window: "hann",
      frameSize: 1024,
      sampleRate: 1024,
      bands: [[0, 100], [100, 512]],
    });
    for (const k of [3, 50, 300, 510]) {
      const [row] = rowsOf(hann, sine(1024, 1024, 2, k, 0.7, -0.5), 1);
      const total = row!.slice(BAND).reduce((s, e) => s + e, 0);
      close(total, 0.25 + 2, 1e-12, `${name}/hann: DC + sine on bin ${k}`);
      close(row![RMS]! ** 2, 0.25 + 2, 1e-12, `${name}/hann: rms² for bin ${k}`);
    }
  }
});

Deno.test("kurtosis is Pearson's: 1.5 for a sine, about 3 for Gaussian noise", () => {
  const n = 65536;
  const normal = createGaussian(createPrng(5));
  const x = Float64Array.from({ length: n }, () => normal());
  for (const [name, make] of IMPLEMENTATIONS) {
    const fx = make({ frameSize: n, sampleRate: n, batchCapacity: 1 });
    close(rowsOf(fx, x, 1)[0]![KURT]!, 3, 0.1, `${name}: Gaussian`);
    close(rowsOf(fx, sine(n, n, 1, 1234), 1)[0]![KURT]!, 1.5, 1e-9, `${name}: sine`);
  }
});

Deno.test("the power spectrum and dominant bin match a naive DFT, every frame size and window", () => {
  for (const n of [8, 16, 32, 64, 128, 256]) {
    const x = randomFrames(n, 4, n);
    for (const window of WINDOWS) {
      for (const [name, make] of IMPLEMENTATIONS) {
        const fx = make({ frameSize: n, sampleRate: n, window, bands: binBands(n) });
        rowsOf(fx, x, 4).forEach((row, f) => {
          const { power, dom } = naiveSpectrum(x.subarray(f * n, (f + 1) * n), window);
          const scale = power.reduce((s, p) => s + p, 0);
          const got = row.slice(BAND);
          assert.equal(got.length, n / 2 + 1);
          got.forEach((p, k) =>
            close(p, power[k]!, 1e-11 * scale, `${name}/${window}/N=${n} frame ${f} bin ${k}`)
          );
          assert.equal(row[DOM], dom, `${name}/${window}/N=${n} frame ${f} dominant`);
        });
      }
    }
  }
});

// ---------------------------------------------------------------- WASM against the reference

Deno.test("WASM agrees with the reference within 1e-9 on random frames", () => {
  for (const window of WINDOWS) {
    for (
      const [n, bands] of [[1024, undefined], [4096, [[3, 7.5], [0, 2000], [1999, 2000]]], [8, [[
        0,
        250,
      ], [250, 500]]]] as const
    ) {
      const o: VibrationFeatureOptions = {
        frameSize: n,
        sampleRate: n === 8 ? 1000 : 4000,
        window,
        batchCapacity: 32,
        bands,
      };
      const wasm = new WasmVibrationFeatures(o);
      const ref = new ReferenceVibrationFeatures(o);
      const x = randomFrames(1000 + n, 32, n);
      assertAgree(rowsOf(wasm, x, 32), rowsOf(ref, x, 32), `${window}/N=${n}`);
      // A partial batch from a longer array.
      assertAgree(rowsOf(wasm, x, 5), rowsOf(ref, x, 5), `${window}/N=${n}, 5 frames`);
    }
  }
});

Deno.test("WASM agrees with the reference on simulated frames with every fault and full noise", () => {
  const schedule = (["imbalance", "misalignment", "bearing", "looseness"] as const).map((
    fault,
    i,
  ) => ({
    machine: `m${i + 2}`,
    fault,
    start: 3,
    frames: 10,
  }));
  const sim = new VibrationSimulator({ machines: 5, seed: 3, faultRate: 0.05, schedule });
  const wasm = new WasmVibrationFeatures();
  const ref = new ReferenceVibrationFeatures();
  for (let t = 0; t < 20; t++) {
    if (t === 10) sim.anomalyLevel = 1;
    const tick = sim.tick(t * sim.frameDurationMs);
    assertAgree(rowsOf(wasm, tick.samples, 5), rowsOf(ref, tick.samples, 5), `tick ${t}`);
  }
});

Deno.test("WASM views follow a grown memory", () => {
  const wasm = new WasmVibrationFeatures({ batchCapacity: 4 });
  const ref = new ReferenceVibrationFeatures({ batchCapacity: 4 });
  const x = randomFrames(77, 4, 1024);
  const before = wasm.extract(x, 4);
  const pages = wasm.rawExports.memory.buffer.byteLength / 65536;
  assert.equal(wasm.rawExports.testGrowMemory(3), pages);
  assert.equal(before.length, 0, "the old view is detached by the growth");
  assertAgree(rowsOf(wasm, x, 4), rowsOf(ref, x, 4), "after growth");
});

Deno.test("the kernel's own argument checks abort with a JS Error naming the call", () => {
  const wasm = new WasmVibrationFeatures({ batchCapacity: 2 });
  assert.throws(() => wasm.rawExports.process(3), /process: n is out of range 0…batchCapacity/);
  assert.throws(() => wasm.rawExports.configure(1024, 4000, 1, 1, 1), /configure: already/);
  // The extractor still works after an abort (nothing was touched).
  const x = randomFrames(3, 2, 1024);
  assertAgree(
    rowsOf(wasm, x, 2),
    rowsOf(new ReferenceVibrationFeatures({ batchCapacity: 2 }), x, 2),
    "after abort",
  );
});

Deno.test("the extractor loads with no permissions (raw import)", async () => {
  const url =
    new URL("../../engine/kernels/vibration/vibration_features_wasm.ts", import.meta.url).href;
  const code = `import { WasmVibrationFeatures } from ${JSON.stringify(url)};
const read = (await Deno.permissions.query({ name: "read" })).state;
const fx = new WasmVibrationFeatures({ frameSize: 8, sampleRate: 8, bands: [[0, 4]] });
console.log(JSON.stringify({ read, row: Array.from(fx.extract(new Float64Array(8).fill(2), 1)) }));`;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "--unstable-raw-imports", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
  const child = cmd.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code));
  await writer.close();
  const { code: exit, stdout, stderr } = await child.output();
  assert.equal(exit, 0, new TextDecoder().decode(stderr));
  const got = JSON.parse(new TextDecoder().decode(stdout));
  assert.notEqual(got.read, "granted");
  assert.deepEqual(got.row, [2, 0, 1, 0, 0, 4]);
});

// ---------------------------------------------------------------- bad input

Deno.test("a bad configuration throws a RangeError naming the value", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    const bad: [VibrationFeatureOptions, RegExp][] = [
      [{ frameSize: 1000 }, /frameSize must be a power of two.*got 1000/],
      [{ frameSize: 4 }, /frameSize.*got 4/],
      [{ frameSize: 131072 }, /frameSize.*got 131072/],
      [{ sampleRate: 0 }, /sampleRate.*got 0/],
      [{ sampleRate: NaN }, /sampleRate.*got NaN/],
      [
        { bands: [[0, 100], [1500, 2100]] },
        /bands\[1\] = \[1500,2100\].*2100 Hz is above the Nyquist frequency 2000 Hz/,
      ],
      [{ bands: [[50, 40]] }, /bands\[0\] = \[50,40\].*lo < hi/],
      [{ bands: [[-1, 40]] }, /bands\[0\] = \[-1,40\]/],
      [
        { bands: [[10, 11]] },
        /bands\[0\] = \[10,11\] Hz holds no FFT bin \(bins are 3.90625 Hz apart\)/,
      ],
      [{ bands: [] }, /bands must be a list of 1…4096.*got 0 bands/],
      [{ window: "hamming" as VibrationWindow }, /window must be "hann" or "none", got "hamming"/],
      [{ batchCapacity: 0 }, /batchCapacity.*got 0/],
      [{ batchCapacity: 1 << 20, frameSize: 65536 }, /batchCapacity 1048576 × frameSize 65536/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => make(options),
        (e: unknown) => e instanceof RangeError && message.test(e.message),
        `${name}: ${JSON.stringify(options)}`,
      );
    }
  }
});

Deno.test("a bad batch throws naming the frame and sample; an out-of-range frame count too", () => {
  for (const [name, make] of IMPLEMENTATIONS) {
    const fx = make({ frameSize: 64, sampleRate: 64, batchCapacity: 4, bands: [[1, 2]] });
    const x = randomFrames(1, 4, 64);
    x[2 * 64 + 17] = NaN;
    assert.throws(() => fx.extract(x, 4), /sample 17 of frame 2 must be finite, got NaN/, name);
    x[2 * 64 + 17] = 1e200;
    assert.throws(
      () => fx.extract(x, 4),
      /frame 2: the sum of squares of its samples overflows/,
      name,
    );
    x[2 * 64 + 17] = -Infinity;
    assert.throws(
      () => fx.extract(x, 4),
      /sample 17 of frame 2 must be finite, got -Infinity/,
      name,
    );
    assert.throws(
      () => fx.extract(x, 5),
      /frames must be an integer in 0…4 \(batchCapacity\), got 5/,
      name,
    );
    assert.throws(() => fx.extract(x, 1.5), /got 1.5/, name);
    assert.throws(
      () => fx.extract(new Float64Array(100), 2),
      /samples holds 100 values, 2 frames of 64 need 128/,
      name,
    );
    // The first two frames are fine and the extractor still works afterwards.
    assert.equal(fx.extract(x, 2).length, 2 * fx.width, name);
  }
});

// ---------------------------------------------------------------- the simulator

/** Mean of each feature over the frames of `machine` whose label satisfies `pick`. */
function meanFeatures(
  ticks: { tick: VibrationTick; rows: number[][] }[],
  machine: string,
  pick: (injected: VibrationFault | null) => boolean,
): number[] {
  const sum: number[] = [];
  let count = 0;
  for (const { tick, rows } of ticks) {
    tick.frames.forEach((frame, i) => {
      if (frame.machine !== machine || !pick(frame.injected)) return;
      rows[i]!.forEach((v, c) => (sum[c] = (sum[c] ?? 0) + v));
      count++;
    });
  }
  assert.ok(count > 0, `no frame of ${machine} matched`);
  return sum.map((s) => s / count);
}

Deno.test("each injected fault moves its feature: imbalance 1×, misalignment 2×, bearing high band, looseness harmonics", () => {
  const faults: VibrationFault[] = ["imbalance", "misalignment", "bearing", "looseness"];
  const schedule = faults.map((fault, i) => ({
    machine: `m${i + 1}`,
    fault,
    start: 10,
    frames: 10,
  }));
  const sim = new VibrationSimulator({ machines: 4, seed: 42, faultRate: 0, schedule });
  const fx = new WasmVibrationFeatures();
  const ticks: { tick: VibrationTick; rows: number[][] }[] = [];
  for (let t = 0; t < 30; t++) {
    const tick = sim.tick(1e12 + t * sim.frameDurationMs);
    ticks.push({ tick, rows: rowsOf(fx, tick.samples, tick.frames.length) });
    for (const frame of tick.frames) {
      const i = Number(frame.machine.slice(1)) - 1;
      assert.equal(
        frame.injected,
        t >= 10 && t < 20 ? faults[i] : null,
        `label of ${frame.machine} at frame ${t}`,
      );
      assert.equal(frame.index, t);
      assert.equal(frame.timestamp, 1e12 + t * 256);
    }
  }
  // Bands (defaults): 1 0–15, 2 15–35 (1×), 3 35–65 (2×), 4 65–100 (3×), 5 100–500, 6, 7 1–2 kHz.
  const expected: Record<VibrationFault, number[]> = {
    imbalance: [BAND + 1],
    misalignment: [BAND + 2],
    bearing: [BAND + 6, KURT, CREST],
    looseness: [BAND + 4],
  };
  faults.forEach((fault, i) => {
    const machine = `m${i + 1}`;
    const healthy = meanFeatures(ticks, machine, (x) => x === null);
    const faulty = meanFeatures(ticks, machine, (x) => x === fault);
    for (const c of expected[fault]) {
      const factor = c === KURT || c === CREST ? 1.05 : 4;
      assert.ok(
        faulty[c]! > factor * healthy[c]!,
        `${fault} on ${machine}: column ${c} ${healthy[c]} → ${faulty[c]}`,
      );
    }
    // And the others stay put (no fault moves the 1× band except imbalance).
    if (fault !== "imbalance") {
      close(faulty[BAND + 1]! / healthy[BAND + 1]!, 1, 0.2, `${fault} leaves the 1× band`);
    }
  });
});

Deno.test("the simulator is reproducible from its seed, and a machine's frames do not depend on the machine count", () => {
  const run = (machines: number, seed: number) => {
    const sim = new VibrationSimulator({ machines, seed, faultRate: 0.2 });
    const out: { samples: Float64Array; injected: (string | null)[] }[] = [];
    for (let t = 0; t < 40; t++) {
      const tick = sim.tick(t);
      out.push({ samples: tick.samples.slice(), injected: tick.frames.map((f) => f.injected) });
    }
    return out;
  };
  const a = run(3, 9);
  const b = run(3, 9);
  assert.deepEqual(a, b);
  assert.ok(a.some((t) => t.injected.some((x) => x !== null)), "a rate of 0.2 injects faults");
  const c = run(3, 10);
  assert.notDeepEqual(c[0]!.samples, a[0]!.samples);
  const d = run(5, 9);
  for (let t = 0; t < 40; t++) {
    assert.deepEqual(
      d[t]!.samples.subarray(2 * 1024, 3 * 1024),
      a[t]!.samples.subarray(2 * 1024, 3 * 1024),
      `m3 at ${t}`,
    );
    assert.equal(d[t]!.injected[2], a[t]!.injected[2]);
  }
});

Deno.test("anomalyLevel scales the noise floor and the DC offset; inject() starts a fault at the next frame", () => {
  const fx = new WasmVibrationFeatures();
  const sim = new VibrationSimulator({ seed: 4, faultRate: 0 });
  const quiet = rowsOf(fx, sim.tick(0).samples, 1)[0]!;
  sim.anomalyLevel = 1;
  const loud = rowsOf(fx, sim.tick(0).samples, 1)[0]!;
  // The 1–2 kHz band is noise only: σ ×10 is power ×100.
  const ratio = loud[BAND + 6]! / quiet[BAND + 6]!;
  assert.ok(ratio > 60 && ratio < 160, `noise power ratio ${ratio}`);
  // The DC offset shows in the 0–15 Hz band.
  assert.ok(loud[BAND]! > 100 * quiet[BAND]!, `offset: ${quiet[BAND]} → ${loud[BAND]}`);
  assert.throws(() => (sim.anomalyLevel = 1.5), /anomalyLevel must be in \[0, 1\], got 1.5/);

  sim.anomalyLevel = 0;
  sim.inject("m1", "misalignment", 2);
  const labels = [0, 1, 2].map((t) => sim.tick(t).frames[0]!.injected);
  assert.deepEqual(labels, ["misalignment", "misalignment", null]);
});

Deno.test("bad simulator options throw naming the value", () => {
  assert.throws(
    () => new VibrationSimulator({ machines: 0 }),
    /machines must be an integer >= 1, got 0/,
  );
  assert.throws(
    () => new VibrationSimulator({ faultRate: 2 }),
    /faultRate must be in \[0, 1\], got 2/,
  );
  assert.throws(() => new VibrationSimulator({ sampleRate: -1 }), /sampleRate.*got -1/);
  assert.throws(
    () =>
      new VibrationSimulator({
        schedule: [{ machine: "m2", fault: "bearing", start: 0, frames: 1 }],
      }),
    /schedule\[0\]\.machine must be m1…m1, got m2/,
  );
  assert.throws(
    () =>
      new VibrationSimulator({
        schedule: [{ machine: "m1", fault: "rust" as VibrationFault, start: 0, frames: 1 }],
      }),
    /schedule\[0\]\.fault must be one of imbalance, misalignment, bearing, looseness, got "rust"/,
  );
  const sim = new VibrationSimulator();
  assert.throws(() => sim.inject("m9", "bearing", 1), /unknown machine "m9"/);
  assert.throws(() => sim.inject("m1", "bearing", 0), /frames must be an integer >= 1, got 0/);
});
