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
  /** Its stream, to drop it from the map when it is evicted. */
  machine: string;
  channel: string;
}

/** Appends `flag` to `ring`, overwriting the oldest once it is full. */
function pushFlag(ring: FlagRing, flag: 0 | 1): void {
  if (ring.count === ring.flags.length) ring.set -= ring.flags[ring.at]!;
  else ring.count++;
  ring.flags[ring.at] = flag;
  ring.set += flag;
  ring.at = ring.at + 1 === ring.flags.length ? 0 : ring.at + 1;
}

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
  // By machine, then channel: looked up twice per stored value (has, ratio), where a joined
  // `machine\0channel` key cost a new string each time (seen in profiles of the live engine).
  readonly #rings = new Map<string, Map<string, FlagRing>>();
  /** Every ring, oldest started first (for eviction). */
  readonly #started = new Set<FlagRing>();

  /** `size` and `maxStreams` are positive integers (checked by the caller). */
  constructor(size: number, maxStreams: number) {
    this.#size = size;
    this.#maxStreams = maxStreams;
  }

  /** Whether the stream has a ring. */
  has(machine: string, channel: string): boolean {
    return this.#rings.get(machine)?.get(channel) !== undefined;
  }

  /** Starts the ring of a stream that has none with `flags`, oldest first. */
  start(machine: string, channel: string, flags: Iterable<0 | 1>): void {
    const ring = this.#newRing(machine, channel);
    for (const flag of flags) pushFlag(ring, flag);
  }

  /** Adds `flag` to the stream's ring; returns the share of set flags in it. */
  ratio(machine: string, channel: string, flag: 0 | 1): number {
    // Only when one batch holds more streams than `maxStreams` is there none: its ring was
    // dropped for a later stream of the same batch, and starts again empty.
    const ring = this.#rings.get(machine)?.get(channel) ?? this.#newRing(machine, channel);
    pushFlag(ring, flag);
    return ring.set / ring.count;
  }

  /** An empty ring for the stream, dropping the oldest started ones beyond `maxStreams`. */
  #newRing(machine: string, channel: string): FlagRing {
    const old = this.#rings.get(machine)?.get(channel);
    if (old) this.#drop(old); // not done by the callers: a stream has one ring
    while (this.#started.size >= this.#maxStreams) this.#drop(this.#started.values().next().value!);
    const ring: FlagRing = {
      flags: new Uint8Array(this.#size),
      at: 0,
      count: 0,
      set: 0,
      machine,
      channel,
    };
    let channels = this.#rings.get(machine);
    if (!channels) this.#rings.set(machine, channels = new Map());
    channels.set(channel, ring);
    this.#started.add(ring);
    return ring;
  }

  #drop(ring: FlagRing): void {
    this.#started.delete(ring);
    const channels = this.#rings.get(ring.machine)!;
    channels.delete(ring.channel);
    if (channels.size === 0) this.#rings.delete(ring.machine);
  }
}
