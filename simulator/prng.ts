/**
 * A small, fast, seedable pseudo-random number generator for the simulator. `Math.random` cannot
 * be seeded, and the simulator must be exactly reproducible from `--seed`.
 * @module
 */

/** A source of uniform random numbers in [0, 1). */
export type Random = () => number;

const TWO_POW_32 = 4294967296;

/** MurmurHash3's 32-bit finaliser (Austin Appleby, public domain): a bijective bit mixer. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A generator of uniform numbers in [0, 1): **sfc32**, Chris Doty-Humphrey's "Small Fast
 * Counting" generator from the PractRand test suite (public domain), as popularised for
 * JavaScript by bryc's `PRNGs.md`. 128 bits of state, only 32-bit integer operations, passes
 * PractRand; the built-in counter guarantees a period of at least 2^32 from any seed.
 *
 * `seed` is any safe integer (its fractional part is ignored); `stream` picks one of 2^32
 * independent streams of that seed: the simulator gives each machine the stream of its index, so
 * a machine's numbers do not depend on how many other machines there are. The seed and stream
 * are mixed with MurmurHash3's finaliser (a bijection, so distinct streams of one seed start from
 * distinct states), expanded with splitmix32 into the state, and the first 12 outputs are
 * discarded as PractRand's own seeding does.
 */
export function createPrng(seed: number, stream = 0): Random {
  const lo = Math.trunc(seed) >>> 0;
  const hi = Math.floor(Math.trunc(seed) / TWO_POW_32) >>> 0;
  let key = fmix32(lo);
  key = fmix32(key ^ hi ^ 0x68e31da4);
  key = fmix32(key ^ (stream >>> 0) ^ 0xb5297a4d);
  // splitmix32: consecutive, well-mixed words from the key.
  let sm = key;
  const next = () => {
    sm = (sm + 0x9e3779b9) | 0;
    return fmix32(sm);
  };
  let a = next() | 0;
  let b = next() | 0;
  let c = next() | 0;
  let d = 1;
  const random = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_POW_32;
  };
  for (let i = 0; i < 12; i++) random();
  return random;
}

/**
 * Standard normal numbers (mean 0, standard deviation 1) from `random`, by the Box–Muller
 * transform (G. E. P. Box and M. E. Muller, 1958). Each pair of uniforms gives two normals; the
 * second is kept for the next call, so the result is a stateful function tied to `random`.
 */
export function createGaussian(random: Random): () => number {
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    // 1 - u is in (0, 1], so the logarithm is finite.
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    hasSpare = true;
    return r * Math.cos(theta);
  };
}

/** A random 32-bit seed from the platform's cryptographic generator, for runs given no seed. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
