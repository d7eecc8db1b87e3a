/**
 * The contract of the per-frame vibration feature extractor, shared by the WebAssembly
 * implementation (`vibration_features_wasm.ts` over `assembly/vibration.ts`) and its
 * plain-TypeScript reference (`vibration_features_reference.ts`). Both implement
 * {@linkcode VibrationFeatureExtractor}, accept and refuse exactly the same options (through
 * {@linkcode resolveVibrationOptions}) and agree within 1e-9.
 * @module
 */

/** The fixed features of a row, in order; the band energies follow. */
export const VIBRATION_FIXED_FEATURES = [
  "rms",
  "peak_to_peak",
  "crest_factor",
  "kurtosis",
  "dominant_frequency_hz",
] as const;

/** Window applied before the FFT. */
export type VibrationWindow = "hann" | "none";

/** A frequency band `[lo, hi)` in Hz. */
export type FrequencyBand = readonly [lo: number, hi: number];

/**
 * Default bands for the default 4 kHz sampling rate and running speeds of 22–28 Hz (the
 * `vibration` simulator's machines, 1320–1680 RPM): they tile 0…2000 Hz, so their energies sum
 * to the frame's mean square. 1: sub-synchronous and DC, 2: 1× (imbalance), 3: 2×
 * (misalignment), 4: 3×, 5: 4× and higher harmonics (looseness), 6: 500–1000 Hz, 7: the bearing
 * resonance band.
 */
export const DEFAULT_VIBRATION_BANDS: readonly FrequencyBand[] = Object.freeze(
  [
    [0, 15],
    [15, 35],
    [35, 65],
    [65, 100],
    [100, 500],
    [500, 1000],
    [1000, 2000],
  ] as const,
);

/** Options of a feature extractor. */
export interface VibrationFeatureOptions {
  /** Samples per frame: a power of two in 8…65536. @default {1024} */
  frameSize?: number;
  /** Sampling rate in Hz (finite, > 0). @default {4000} */
  sampleRate?: number;
  /**
   * Frequency bands `[lo, hi)` in Hz, 1…4096 of them, each with 0 <= lo < hi <= sampleRate/2 and
   * holding at least one FFT bin (bin k is at k·sampleRate/frameSize). A band whose `hi` is the
   * Nyquist frequency also holds the Nyquist bin. Bands may overlap or leave gaps.
   * @default {DEFAULT_VIBRATION_BANDS}
   */
  bands?: readonly FrequencyBand[];
  /** `hann` (periodic Hann) or `none` (rectangular). @default {"hann"} */
  window?: VibrationWindow;
  /** Most frames one `extract` call takes (the input area holds this many). @default {64} */
  batchCapacity?: number;
}

/** Options with every default filled in, and the bands' bin ranges. */
export interface ResolvedVibrationOptions {
  readonly frameSize: number;
  readonly sampleRate: number;
  readonly bands: readonly FrequencyBand[];
  readonly window: VibrationWindow;
  readonly batchCapacity: number;
  /** Per band: first bin, end bin (exclusive), as both implementations compute them. */
  readonly bins: readonly (readonly [number, number])[];
  /** Column names of a row: the fixed features, then `band_energy_1` … `band_energy_K`. */
  readonly featureNames: readonly string[];
}

/**
 * Computes one row of features per frame. A row is
 * `rms, peak_to_peak, crest_factor, kurtosis, dominant_frequency_hz, band_energy_1 … K`:
 *
 * - `rms`: sqrt(mean of x²) (about zero, so a DC offset counts).
 * - `peak_to_peak`: max - min. `crest_factor`: max|x| / rms (0 for an all-zero frame).
 * - `kurtosis`: Pearson's (not excess) m4/m2² of the central moments: 3 for Gaussian noise,
 *   1.5 for a sine, high for impacts; 0 for a constant frame.
 * - `dominant_frequency_hz`: k·fs/N of the largest power bin k in 1…N/2 of the mean-removed
 *   frame (the first on ties); 0 for a constant frame.
 * - `band_energy_i`: Σ P[k] over the band's bins, P the one-sided power of the windowed frame
 *   normalised by the window power, P[k] = c_k |X[k]|² / (N Σw²), c = 1 at bins 0 and N/2, else
 *   2. Bands tiling 0…fs/2 sum to rms² exactly without window (Parseval), and with the Hann
 *   window to the w²-weighted mean square (rms² for a stationary signal).
 */
export interface VibrationFeatureExtractor {
  /** The options in force. */
  readonly options: ResolvedVibrationOptions;
  /** Columns per row: 5 + number of bands. */
  readonly width: number;
  /**
   * Features of `frames` frames stored back to back in `samples` (at least
   * frames·frameSize values). Returns `frames` rows of `width` values, row-major; the array may
   * be a view the extractor owns, valid until the next call: copy what must outlive it. Throws a
   * `RangeError` naming the value for a bad `frames` or a non-finite sample (no row is
   * returned then).
   */
  extract(samples: Float64Array, frames: number): Float64Array;
}

/** Limits shared with `assembly/vibration.ts`. */
export const VIBRATION_MAX = Object.freeze({
  frameSize: 65536,
  bands: 4096,
  batchCapacity: 1 << 20,
  /** The input and output areas may not exceed this many bytes together. */
  bytes: 2 ** 30 - 2 ** 22,
});

/** The defaults documented on {@linkcode VibrationFeatureOptions}. */
export const VIBRATION_DEFAULTS = Object.freeze({
  frameSize: 1024,
  sampleRate: 4000,
  bands: DEFAULT_VIBRATION_BANDS,
  window: "hann" as VibrationWindow,
  batchCapacity: 64,
});

/** First bin and end bin of a band, the same expressions as `setBands` in the kernel. */
function bandBins(lo: number, hi: number, n: number, fs: number): [number, number] {
  const nyquist = fs * 0.5;
  const kLo = Math.ceil((lo * n) / fs);
  const kHi = hi === nyquist ? n / 2 + 1 : Math.ceil((hi * n) / fs);
  return [kLo, kHi];
}

/**
 * Fills in the defaults and validates the options; a `RangeError` names the bad value.
 */
export function resolveVibrationOptions(
  options: VibrationFeatureOptions = {},
): ResolvedVibrationOptions {
  const frameSize = options.frameSize ?? VIBRATION_DEFAULTS.frameSize;
  if (
    typeof frameSize !== "number" || !Number.isInteger(frameSize) || frameSize < 8 ||
    frameSize > VIBRATION_MAX.frameSize || (frameSize & (frameSize - 1)) !== 0
  ) {
    throw new RangeError(
      `frameSize must be a power of two in 8…${VIBRATION_MAX.frameSize}, got ${String(frameSize)}`,
    );
  }
  const sampleRate = options.sampleRate ?? VIBRATION_DEFAULTS.sampleRate;
  if (typeof sampleRate !== "number" || !(sampleRate > 0) || !Number.isFinite(sampleRate)) {
    throw new RangeError(`sampleRate must be a finite number > 0, got ${String(sampleRate)}`);
  }
  const window = options.window ?? VIBRATION_DEFAULTS.window;
  if (window !== "hann" && window !== "none") {
    throw new RangeError(`window must be "hann" or "none", got ${JSON.stringify(window)}`);
  }
  const batchCapacity = options.batchCapacity ?? VIBRATION_DEFAULTS.batchCapacity;
  if (
    typeof batchCapacity !== "number" || !Number.isInteger(batchCapacity) || batchCapacity < 1 ||
    batchCapacity > VIBRATION_MAX.batchCapacity
  ) {
    throw new RangeError(
      `batchCapacity must be an integer in 1…${VIBRATION_MAX.batchCapacity}, got ${
        String(batchCapacity)
      }`,
    );
  }
  const bands = options.bands ?? VIBRATION_DEFAULTS.bands;
  if (!Array.isArray(bands) || bands.length < 1 || bands.length > VIBRATION_MAX.bands) {
    throw new RangeError(
      `bands must be a list of 1…${VIBRATION_MAX.bands} [lo, hi] pairs, got ${
        Array.isArray(bands) ? `${bands.length} bands` : String(bands)
      }`,
    );
  }
  const nyquist = sampleRate * 0.5;
  const binHz = sampleRate / frameSize;
  const bins: [number, number][] = [];
  bands.forEach((band: unknown, i) => {
    const text = JSON.stringify(band);
    if (
      !Array.isArray(band) || band.length !== 2 || typeof band[0] !== "number" ||
      typeof band[1] !== "number"
    ) {
      throw new RangeError(`bands[${i}] must be a [lo, hi] pair of numbers in Hz, got ${text}`);
    }
    const [lo, hi] = band as [number, number];
    if (!(lo >= 0) || !(lo < hi)) {
      throw new RangeError(`bands[${i}] = ${text} Hz must have 0 <= lo < hi`);
    }
    if (!(hi <= nyquist)) {
      throw new RangeError(
        `bands[${i}] = ${text} Hz: ${hi} Hz is above the Nyquist frequency ${nyquist} Hz`,
      );
    }
    const b = bandBins(lo, hi, frameSize, sampleRate);
    if (!(b[0] < b[1])) {
      throw new RangeError(
        `bands[${i}] = ${text} Hz holds no FFT bin (bins are ${binHz} Hz apart)`,
      );
    }
    bins.push(b);
  });
  const width = VIBRATION_FIXED_FEATURES.length + bands.length;
  const bytes = 8 * batchCapacity * (frameSize + width);
  if (bytes > VIBRATION_MAX.bytes) {
    throw new RangeError(
      `batchCapacity ${batchCapacity} × frameSize ${frameSize} needs ${bytes} bytes, more than ${VIBRATION_MAX.bytes}`,
    );
  }
  const featureNames = [
    ...VIBRATION_FIXED_FEATURES,
    ...bands.map((_, i) => `band_energy_${i + 1}`),
  ];
  return Object.freeze({
    frameSize,
    sampleRate,
    bands: Object.freeze(bands.map((b) => Object.freeze([b[0], b[1]] as const))),
    window,
    batchCapacity,
    bins: Object.freeze(bins.map((b) => Object.freeze(b))),
    featureNames: Object.freeze(featureNames),
  });
}

/**
 * Checks an `extract` call: `frames` an integer in 0…batchCapacity and `samples` long enough.
 * Throws a `RangeError` naming the bad value.
 */
export function checkExtract(
  samples: Float64Array,
  frames: number,
  options: ResolvedVibrationOptions,
): void {
  if (!Number.isInteger(frames) || frames < 0 || frames > options.batchCapacity) {
    throw new RangeError(
      `frames must be an integer in 0…${options.batchCapacity} (batchCapacity), got ${frames}`,
    );
  }
  if (!(samples instanceof Float64Array)) {
    throw new RangeError(`samples must be a Float64Array, got ${String(samples)}`);
  }
  const need = frames * options.frameSize;
  if (samples.length < need) {
    throw new RangeError(
      `samples holds ${samples.length} values, ${frames} frames of ${options.frameSize} need ${need}`,
    );
  }
}

/** The error for frame `frame` of `samples`, which the kernel found non-finite. */
export function badFrameError(
  samples: Float64Array,
  frame: number,
  frameSize: number,
): RangeError {
  const start = frame * frameSize;
  for (let i = 0; i < frameSize; i++) {
    const v = samples[start + i]!;
    if (!Number.isFinite(v)) {
      return new RangeError(`sample ${i} of frame ${frame} must be finite, got ${v}`);
    }
  }
  return new RangeError(`frame ${frame}: the sum of squares of its samples overflows`);
}
