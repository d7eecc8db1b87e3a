/**
 * The anomaly-ratio rings: per stream (machine, channel), the z-score flags of its last readings,
 * so that each stored reading gets the share of anomalies among them without a query. Bounded
 * twice: a ring holds `size` flags (one byte each), and at most `maxStreams` rings are kept.
 * @module
 */

/** One stream's last flags, for its anomaly ratio. */
interface FlagRing {
  flags: Uint8Array;
  /** Next slot to write. */
  at: number;
  /** Flags held (up to `flags.length`). */
  count: number;
  /** Of which set. */
  set: number;
}

/** Appends `flag` to `ring`, overwriting the oldest once it is full. */
function pushFlag(ring: FlagRing, flag: 0 | 1): void {
  if (ring.count === ring.flags.length) ring.set -= ring.flags[ring.at]!;
  else ring.count++;
  ring.flags[ring.at] = flag;
  ring.set += flag;
  ring.at = ring.at + 1 === ring.flags.length ? 0 : ring.at + 1;
}

const keyOf = (machine: string, channel: string) => `${machine}\u0000${channel}`;

/**
 * The rings of up to `maxStreams` streams, each of the last `size` flags. Beyond `maxStreams`
 * the least recently started ring is dropped; its stream is started again (from the file, by the
 * caller) when it comes back.
 *
 * @example
 * ```ts
 * const rings = new FlagRings(4, 4096);
 * rings.start("m1", "temperature", [1, 0]); // restored from the file, oldest first
 * rings.ratio("m1", "temperature", 0); // 1/3
 * rings.ratio("m1", "temperature", 0); // 1/4
 * rings.ratio("m1", "temperature", 0); // 0: the 1 fell out of the ring
 * ```
 */
export class FlagRings {
  readonly #size: number;
  readonly #maxStreams: number;
  /** By `machine\0channel`, oldest started first (for eviction). */
  readonly #rings = new Map<string, FlagRing>();

  /** `size` and `maxStreams` are positive integers (checked by the caller). */
  constructor(size: number, maxStreams: number) {
    this.#size = size;
    this.#maxStreams = maxStreams;
  }

  /** Whether the stream has a ring. */
  has(machine: string, channel: string): boolean {
    return this.#rings.has(keyOf(machine, channel));
  }

  /** Starts the ring of a stream that has none with `flags`, oldest first. */
  start(machine: string, channel: string, flags: Iterable<0 | 1>): void {
    const ring = this.#newRing(keyOf(machine, channel));
    for (const flag of flags) pushFlag(ring, flag);
  }

  /** Adds `flag` to the stream's ring; returns the share of set flags in it. */
  ratio(machine: string, channel: string, flag: 0 | 1): number {
    const key = keyOf(machine, channel);
    let ring = this.#rings.get(key);
    if (!ring) {
      // Only when one batch holds more streams than `maxStreams`: its ring was dropped for a
      // later stream of the same batch, and starts again empty.
      ring = this.#newRing(key);
    }
    pushFlag(ring, flag);
    return ring.set / ring.count;
  }

  /** An empty ring for `key`, dropping the oldest started ones beyond `maxStreams`. */
  #newRing(key: string): FlagRing {
    while (this.#rings.size >= this.#maxStreams) {
      this.#rings.delete(this.#rings.keys().next().value!);
    }
    const ring: FlagRing = { flags: new Uint8Array(this.#size), at: 0, count: 0, set: 0 };
    this.#rings.set(key, ring);
    return ring;
  }
}
