/**
 * One INSERT statement for many rows: the history writes a flush's readings through
 * multi-row `VALUES (…), (…), …` statements rather than one statement per row, because each
 * statement run costs a call into SQLite, the binding of its parameters one call at a time, and
 * a pass through the VM's prologue; measured in bench/history_bench.ts.
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

/**
 * Rows per statement, largest first: a flush is written in statements of 256 rows, the rest in
 * statements of 16, the last few one by one, so that only three statements are ever prepared
 * per table shape. 256 rows of 11 columns bind 2,816 parameters, far under SQLite's limit of
 * 32,766 variables.
 */
const CHUNKS = [256, 16, 1] as const;

/**
 * An `INSERT INTO table (columns) VALUES … <tail>` run over rows of `columns.length` values,
 * in order: SQLite applies the rows of one statement one after the other, so an upsert `tail`
 * (`ON CONFLICT … DO UPDATE`) sees a row repeated in the same statement exactly as it would
 * with one statement per row.
 *
 * @example
 * ```ts
 * import { DatabaseSync } from "node:sqlite";
 * const db = new DatabaseSync(":memory:");
 * db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v REAL)");
 * const insert = new ChunkedInsert(db, "t", ["k", "v"], "ON CONFLICT (k) DO UPDATE SET v = excluded.v");
 * insert.run(["a", 1, "b", 2, "a", 3], 3); // t: a = 3, b = 2
 * ```
 */
export class ChunkedInsert {
  readonly #db: DatabaseSync;
  readonly #head: string;
  readonly #tail: string;
  readonly #width: number;
  readonly #statements = new Map<number, StatementSync>();

  /** Prepares nothing yet: each chunk size is prepared on its first use. */
  constructor(db: DatabaseSync, table: string, columns: readonly string[], tail: string) {
    this.#db = db;
    this.#head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `;
    this.#tail = tail;
    this.#width = columns.length;
  }

  /**
   * Inserts `rows` rows whose values lie one after the other in `values` (row-major,
   * `columns.length` per row).
   * @throws {RangeError} when `values` does not hold exactly `rows` rows; SQLite's error when a
   * row is refused (the rows before it in the same transaction stay, as with one statement per
   * row: the caller rolls back).
   */
  run(values: readonly SQLInputValue[], rows: number): void {
    const width = this.#width;
    if (values.length !== rows * width) {
      throw new RangeError(
        `ChunkedInsert: ${values.length} values are not ${rows} rows of ${width} columns`,
      );
    }
    let at = 0;
    for (const size of CHUNKS) {
      const n = size * width;
      if (rows - at / width < size) continue;
      const statement = this.#statement(size);
      while (rows - at / width >= size) {
        statement.run(...values.slice(at, at + n));
        at += n;
      }
    }
  }

  #statement(rows: number): StatementSync {
    let s = this.#statements.get(rows);
    if (s === undefined) {
      const row = `(${Array(this.#width).fill("?").join(", ")})`;
      s = this.#db.prepare(this.#head + Array(rows).fill(row).join(", ") + " " + this.#tail);
      this.#statements.set(rows, s);
    }
    return s;
  }
}
