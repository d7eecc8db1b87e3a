/**
 * {@linkcode SlotPool}: fixed-size slots of doubles lent to the heartbeat monitor's learning
 * machines (`heartbeat_monitor.ts`), from pages of a fixed size, each dropped as soon as none of
 * its slots is lent.
 * @module
 */

/** What holds a slot: its id in the pool (-1: none), its first entry and its end in the page
 * `lend` returned (the heartbeat monitor's `Beat`). */
export interface SlotHolder {
  slot: number;
  base: number;
  end: number;
}

/** Bytes of a {@linkcode SlotPool}'s page: as many slots as fit (at least one). */
export const PAGE_BYTES = 8192;

/**
 * Slots of `size` doubles for machines learning their timeout, lent and given back, from pages
 * of {@linkcode PAGE_BYTES} (64 slots of the 16 gaps a machine keeps unlike its first, 2 of 400
 * gaps; one slot a page when a slot is larger). The 1 M replay's 1,000 machines learning take 27
 * pages of small slots (a file of 1,000 jittery machines: 34, and 500 of full slots), instead of
 * a typed array each, doubled five times on the way to 400 gaps (those ~6,000 stores outside
 * V8's heap, each allocated and zeroed by the embedder, were ~40 ms of a 1 M replay's profile). A page is dropped as soon as none of its slots is lent, so the pool
 * holds only pages with a slot lent: at most one page per machine learning, bounded as the
 * machines are (`maxMachines`).
 *
 * @example
 * ```ts
 * const pool = new SlotPool(16);
 * const holder = { slot: -1, base: 0, end: 0 };
 * const page = pool.lend(holder); // holder.slot 0; its entries: page[holder.base … holder.end-1]
 * page[holder.base] = 1000;
 * pool.giveBack(holder); // holder.slot -1; its page, with no slot lent, is dropped
 * ```
 */
export class SlotPool {
  readonly size: number;
  /** Slots a page holds. */
  readonly #perPage: number;
  /** Page `p` holds slots `p × perPage …`; null: dropped (or not made yet). */
  readonly #pages: (Float64Array | null)[] = [];
  /** Slots lent now, per page. */
  readonly #lentIn: number[] = [];
  /** Slots given back, lent again first (the latest first: most likely on a page still held). */
  readonly #free: number[] = [];
  /** Slots ever lent since every slot was last given back: the next new one's id. */
  #used = 0;
  /** Slots lent now. */
  #lent = 0;

  constructor(size: number) {
    this.size = size;
    this.#perPage = Math.max(1, Math.floor(PAGE_BYTES / (8 * size)));
  }

  /** Pages held now (tests). */
  get pages(): number {
    let held = 0;
    for (const p of this.#pages) if (p !== null) held++;
    return held;
  }

  /** Lends a slot to `holder` (its id, first entry and end): returns its page. */
  lend(holder: SlotHolder): Float64Array {
    const slot = this.#free.pop() ?? this.#used++;
    const page = Math.floor(slot / this.#perPage);
    let pageArray = this.#pages[page] ?? null;
    if (pageArray === null) {
      pageArray = new Float64Array(this.size * this.#perPage);
      while (this.#pages.length < page) {
        this.#pages.push(null);
        this.#lentIn.push(0);
      }
      this.#pages[page] = pageArray;
      this.#lentIn[page] = 0;
    }
    this.#lentIn[page]!++;
    this.#lent++;
    holder.slot = slot;
    holder.base = (slot - page * this.#perPage) * this.size;
    holder.end = holder.base + this.size;
    return pageArray;
  }

  /** Takes back the slot of `holder`, which then has none; its page goes with its last slot. */
  giveBack(holder: SlotHolder): void {
    const slot = holder.slot;
    const page = Math.floor(slot / this.#perPage);
    holder.slot = -1;
    if (--this.#lent === 0) {
      // Every slot back: ids start again from 0.
      this.#pages.length = 0;
      this.#lentIn.length = 0;
      this.#free.length = 0;
      this.#used = 0;
      return;
    }
    this.#free.push(slot);
    if (--this.#lentIn[page]! === 0) this.#pages[page] = null;
  }
}
