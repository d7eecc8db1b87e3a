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
 * const rows = [["a", 1], ["b", 2], ["a", 3]];
 * insert.run(rows.length, (params, at, row) => {
 *   params[at] = rows[row]![0]!;
 *   params[at + 1] = rows[row]![1]!;
 * }); // t: a = 3, b = 2
 * ```
 */
export class ChunkedInsert {
  readonly #db: DatabaseSync;
  readonly #head: string;
  readonly #tail: string;
  readonly #width: number;
  /** Per chunk size: its statement and the parameter array reused for each run of it. */
  readonly #statements = new Map<number, { statement: StatementSync; params: SQLInputValue[] }>();

  /** Prepares nothing yet: each chunk size is prepared on its first use. */
  constructor(db: DatabaseSync, table: string, columns: readonly string[], tail: string) {
    this.#db = db;
    this.#head = `INSERT INTO ${table} (${columns.join(", ")}) VALUES `;
    this.#tail = tail;
    this.#width = columns.length;
  }

  /**
   * Inserts `rows` rows, in order: `fill(params, at, row)` puts row number `row`'s values into
   * `params[at]` to `params[at + columns.length - 1]`. The rows go straight into each
   * statement's parameters, not through an array of the whole run (which, at tens of thousands
   * of rows per flush, was garbage of several MiB each time).
   * @throws SQLite's error when a row is refused (the rows before it in the same transaction
   * stay, as with one statement per row: the caller rolls back).
   */
  run(rows: number, fill: (params: SQLInputValue[], at: number, row: number) => void): void {
    const width = this.#width;
    let row = 0;
    for (const size of CHUNKS) {
      if (rows - row < size) continue;
      const { statement, params } = this.#statement(size);
      while (rows - row >= size) {
        for (let k = 0; k < size; k++) fill(params, k * width, row + k);
        statement.run(...params);
        row += size;
      }
    }
  }

  #statement(rows: number): { statement: StatementSync; params: SQLInputValue[] } {
    let s = this.#statements.get(rows);
    if (s === undefined) {
      const row = `(${Array(this.#width).fill("?").join(", ")})`;
      s = {
        statement: this.#db.prepare(
          this.#head + Array(rows).fill(row).join(", ") + " " + this.#tail,
        ),
        params: Array<SQLInputValue>(rows * this.#width).fill(null),
      };
      this.#statements.set(rows, s);
    }
    return s;
  }
}
