/**
 * {@linkcode SlotPool}: fixed-size slots of doubles lent to the heartbeat monitor's learning
 * machines (`heartbeat_monitor.ts`), from pages that grow by doubling and are dropped when the
 * last slot is given back.
 * @module
 */

/** What holds a slot: its id in the pool (-1: none), its first entry and its end in the page
 * `lend` returned (the heartbeat monitor's `Beat`). */
export interface SlotHolder {
  slot: number;
  base: number;
  end: number;
}

/** Slots in a page of a {@linkcode SlotPool}, at most (its first pages hold 1, 2, 4, … 32):
 * 2^6, as `lend` computes. */
const PAGE_SLOTS = 64;

/**
 * Slots of `size` doubles for machines learning their timeout, lent and given back: pages of
 * 1, 2, 4, … 32 slots, then of {@linkcode PAGE_SLOTS}, so that 1,000 machines learning take 21
 * allocations (instead of a typed array each, doubled five times on the way to 400 gaps: those
 * ~6,000 stores outside V8's heap, each allocated and zeroed by the embedder, were ~40 ms of a
 * 1 M replay's profile), never copy a page, and hold at most 64 slots more than are lent. When
 * the last slot lent is given back (every machine has learned), the pages are dropped.
 *
 * @example
 * ```ts
 * const pool = new SlotPool(16);
 * const holder = { slot: -1, base: 0, end: 0 };
 * const page = pool.lend(holder); // holder.slot 0; its entries: page[holder.base … holder.end-1]
 * page[holder.base] = 1000;
 * pool.giveBack(holder); // holder.slot -1; the last slot back: the pages are dropped
 * ```
 */
export class SlotPool {
  readonly size: number;
  readonly #pages: Float64Array[] = [];
  /** Slots given back, lent again first. */
  readonly #free: number[] = [];
  /** Slots ever lent since the pages were last dropped: the next new one's id. */
  #used = 0;
  /** Slots lent now. */
  #lent = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** Lends a slot to `beat` (its id, first entry and end): returns its page. */
  lend(beat: SlotHolder): Float64Array {
    const slot = this.#free.pop() ?? this.#used++;
    // Slots 0 … 62 fill pages 0 … 5 (page p: 2^p slots, the first slot s + 1 = 2^p); then
    // pages of PAGE_SLOTS.
    let page: number, entry: number;
    if (slot < PAGE_SLOTS - 1) {
      page = 31 - Math.clz32(slot + 1);
      entry = slot + 1 - (1 << page);
    } else {
      page = 6 + ((slot - (PAGE_SLOTS - 1)) >> 6);
      entry = (slot - (PAGE_SLOTS - 1)) & (PAGE_SLOTS - 1);
    }
    if (page === this.#pages.length) {
      this.#pages.push(new Float64Array(this.size * Math.min(1 << page, PAGE_SLOTS)));
    }
    this.#lent++;
    beat.slot = slot;
    beat.base = entry * this.size;
    beat.end = beat.base + this.size;
    return this.#pages[page]!;
  }

  /** Takes back the slot of `beat`, which then has none. */
  giveBack(beat: SlotHolder): void {
    this.#free.push(beat.slot);
    beat.slot = -1;
    if (--this.#lent === 0) {
      this.#pages.length = 0;
      this.#free.length = 0;
      this.#used = 0;
    }
  }
}
