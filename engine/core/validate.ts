/**
 * The number checks that option objects share: one text per kind of bad value, naming the option
 * and the value.
 * @module
 */

/**
 * `value` if it is a whole number ≥ 1 (and a safe integer), else a `RangeError` naming `name`.
 *
 * @example
 * ```ts
 * positiveInteger("queueSize", 256); // 256
 * positiveInteger("queueSize", 0); // throws RangeError: queueSize must be a positive integer, got 0
 * ```
 */
export function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * `value` if it is a finite number > 0, else a `RangeError` naming `name`.
 *
 * @example
 * ```ts
 * positiveNumber("timeoutMs", 2.5); // 2.5
 * positiveNumber("timeoutMs", -1); // throws RangeError: timeoutMs must be a positive number, got -1
 * ```
 */
export function positiveNumber(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive number, got ${value}`);
  }
  return value;
}
