/**
 * Memory layout shared by the AssemblyScript modules of assembly/ (each top-level file).
 * Not a module of its own: each module that imports it gets its own copy of this state, in its
 * own instance.
 *
 * Every module allocates all its arrays once, in `configure`, as one region of linear memory
 * (`--runtime stub`: never freed), and names each array by a small index, an `enum R`:
 *
 *   beginConfigure();               // refuses a second configure
 *   place(R.IN, cap * 8);           // plan array R.IN at the next 64-aligned offset
 *   placeStaggered(R.OUT, 3, cap * 8);
 *   const total = allocate(LIMIT, "configure: … would exceed 2 GiB");
 *   const p = region(R.IN);         // its address from now on
 *
 * A module whose per-stream arrays come last may grow them later, when a stream id passes the
 * capacity allocated so far (`growLayout`, then `moveArray` for an array it re-laid out): the
 * region is extended in place (`heap.realloc` of the last block), so memory holds the streams
 * in use instead of `maxStreams` of them from the start.
 *
 * The host finds array k at `ptr(k)` (engine/kernels/assemblyscript_instance.ts), which each
 * module re-exports with `export { ptr, testGrowMemory } from "./lib/memory"`. Sizes are
 * planned in f64 so that an oversized request is refused by `allocate` instead of wrapping
 * around the 32-bit address space.
 */

/** Most arrays a module may place. */
const MAX_REGIONS: i32 = 64;
/** Planned offsets (f64, bytes from the region start), then addresses (usize) per array. */
const OFFSETS: usize = memory.data(MAX_REGIONS * 8, 16);
const ADDRESSES: usize = memory.data(MAX_REGIONS * sizeof<usize>(), 16);

let configured = false;
let planEnd: f64 = 0;
let placed: i32 = 0;
/** The block `heap.alloc` returned for the region, and the region's 64-aligned start in it. */
let rawBlock: usize = 0;
let base: usize = 0;

/** `x` rounded up to a multiple of `to` (a power of two). */
@inline export function align(x: usize, to: usize): usize {
  return (x + to - 1) & ~(to - 1);
}

/** Element `i` of the f64 array at `base`. */
@inline export function f64At(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

/** Stores `v` as element `i` of the f64 array at `base`. */
@inline export function setF64(base: usize, i: i32, v: f64): void {
  store<f64>(base + (<usize>i << 3), v);
}

/** Aborts unless `configure` has run; `where` names the call in the message. */
export function checkConfigured(where: string): void {
  // assert evaluates its message only on failure: no allocation on the normal path.
  assert(configured, where + ": configure() has not been called");
}

/** Aborts unless lo <= value <= hi; `name` names the argument of `configure`. */
export function checkArgument(name: string, value: f64, lo: f64, hi: f64): void {
  assert(value >= lo && value <= hi, "configure: " + name + " out of range");
}

/** Starts planning the layout; aborts on a second `configure` (the layout never moves). */
export function beginConfigure(): void {
  assert(!configured, "configure: already configured");
  planEnd = 0;
  placed = 0;
}

/** Plans array `k` of `bytes` bytes at `offset` (64-aligned, at or after the previous end). */
function placeAt(k: i32, offset: f64, bytes: f64): void {
  assert(k >= 0 && k < MAX_REGIONS, "configure: array index out of range");
  store<f64>(OFFSETS + (<usize>k << 3), offset);
  planEnd = offset + bytes;
  if (k >= placed) placed = k + 1;
}

/** The planned end rounded up to 64 bytes: where the next array may start. */
function nextOffset(): f64 {
  return Math.ceil(planEnd / 64) * 64;
}

/** Plans array `k` of `bytes` bytes at the next 64-byte-aligned offset. */
export function place(k: i32, bytes: f64): void {
  placeAt(k, nextOffset(), bytes);
}

/**
 * Plans array `k` at the first 64-aligned offset ≡ slot·320 (mod 4096) after the previous
 * one. Batch arrays read or written at the same index i then fall into different L1 sets and
 * never alias modulo 4 KiB. Packed back to back, arrays of a power-of-two capacity (8,192 × 8
 * bytes) start exactly 64 KiB apart: every reading's stores then hit one 8-way L1 set and the
 * loads and stores alias for the store-forwarding check (measured on assembly/rolling.ts:
 * that alone cost more time than all the statistics). Place staggered arrays before any large
 * one (the offset is computed in 32 bits).
 */
export function placeStaggered(k: i32, slot: i32, bytes: f64): void {
  const o = <usize>nextOffset();
  placeAt(k, <f64>(o + ((((<usize>slot * 320) & 4095) - (o & 4095)) & 4095)), bytes);
}

/**
 * Allocates the planned layout, zero-filled, with every array 64-byte aligned, and records
 * each array's address. Aborts with `message` when it would exceed `limit` bytes. Returns
 * the bytes allocated. As in `growLayout`, only bytes below the memory's size before the call
 * are written: the pages memory.grow adds are zero already, and filling them made the whole
 * layout resident at once (the batch arrays' 0.85 MiB of the rolling kernel and as much again of
 * the adaptive detector, before a reading arrives; BENCHMARKS.md "A cheaper start").
 *
 * @example
 * ```ts
 * place(R.IN, cap * 8);
 * const total = allocate(2147483648.0, "configure: the state would exceed 2 GiB");
 * ```
 */
export function allocate(limit: f64, message: string): f64 {
  const total = nextOffset() + 64;
  assert(total <= limit && total <= 2147483648.0, message);
  const fresh = <usize>memory.size() << 16;
  rawBlock = heap.alloc(<usize>total);
  base = align(rawBlock, 64);
  const end = min(base + <usize>(total - 64), fresh);
  if (base < end) memory.fill(base, 0, end - base);
  for (let k: i32 = 0; k < placed; k++) setAddress(k);
  configured = true;
  return total;
}

/** Records the address of array `k` from its planned offset. */
function setAddress(k: i32): void {
  const at = <usize>load<f64>(OFFSETS + (<usize>k << 3));
  store<usize>(ADDRESSES + (<usize>k * sizeof<usize>()), base + at);
}

/** Planned offset of array `k` from the region's start (bytes). */
export function offsetOf(k: i32): f64 {
  return load<f64>(OFFSETS + (<usize>k << 3));
}

/**
 * Extends the allocated region so that it ends `end` bytes after its start; the new bytes are zero
 * (written only below the memory's size before the call: the pages it grows by are zero already
 * and stay untouched) and every array keeps its contents. Aborts with `message` beyond `limit`
 * bytes. The region is the heap's last block, so `heap.realloc` extends it in place (memory.grow
 * when needed: the host's views follow the new buffer); should anything have been allocated after
 * it (an abort's message), the region moves: the addresses are updated and the memory grows by one
 * page, so that a host rebuilding its views on a new `memory.buffer` sees the move too. (A move
 * copies the whole old block: up to 48 bytes of it past `used` are then not zeroed when they lie
 * above the old memory's end. No module allocates after its region today, so none moves.)
 */
export function growLayout(end: f64, limit: f64, message: string): void {
  if (end <= planEnd) return;
  const total = Math.ceil(end / 64) * 64 + 64;
  assert(total <= limit && total <= 2147483648.0, message);
  const used = <usize>planEnd;
  // Bytes from here on are pages memory.grow adds below, zero by definition: filling them too
  // would only make every new page resident (the adaptive detector's profiles, 12 MiB at 2,048
  // streams, are mostly never written; BENCHMARKS.md "Memory", 2026-11-29).
  const fresh = <usize>memory.size() << 16;
  const moved = heap.realloc(rawBlock, <usize>total);
  if (moved != rawBlock) {
    const at = align(moved, 64);
    memory.copy(at, moved + (base - rawBlock), used);
    rawBlock = moved;
    base = at;
    for (let k: i32 = 0; k < placed; k++) setAddress(k);
    memory.grow(1);
  }
  const from = base + used;
  const to = min(base + <usize>end, fresh);
  if (from < to) memory.fill(from, 0, to - from);
  planEnd = end;
}

/** Moves array `k` to `offset` (the module has moved its contents there, within the region). */
export function moveArray(k: i32, offset: f64): void {
  assert(k >= 0 && k < placed && offset + 0 <= planEnd, "moveArray: out of range");
  store<f64>(OFFSETS + (<usize>k << 3), offset);
  setAddress(k);
}

/** The region's planned end (bytes from its start). */
export function layoutEnd(): f64 {
  return planEnd;
}

/** Address of array `k` (valid after `allocate`). */
@inline export function region(k: i32): usize {
  return load<usize>(ADDRESSES + (<usize>k * sizeof<usize>()));
}

/**
 * Address of array `k`, 64-byte aligned, for the host's views (exported by every module).
 *
 * @example
 * ```ts
 * // host: new Float64Array(exports.memory.buffer, exports.ptr(R.SCORE), capacity)
 * ```
 */
export function ptr(k: i32): usize {
  checkConfigured("ptr");
  assert(k >= 0 && k < placed, "ptr: array index out of range");
  return region(k);
}

/** Grows the memory by `pages` 64 KiB pages (tests: proves the JS views follow a new buffer). */
export function testGrowMemory(pages: i32): i32 {
  return memory.grow(pages);
}
