/**
 * Structured JSON logs (`logs/simulator.log`, `logs/processor.log`, `logs/api.log`).
 * @module
 */

/** Log level. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A structured logger: one JSON object per entry. */
export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const nullLogger: Logger = {
  log() {},
  info() {},
  warn() {},
  error() {},
};

/** Options of {@linkcode FileLogger}. */
export interface FileLoggerOptions {
  /** The component name written in every entry. */
  component: string;
  /** Entries held in memory before a flush; further entries are counted and dropped until
   * the next flush, so a log storm cannot exhaust memory. @default {1000} */
  maxPending?: number;
  /** Also print warnings and errors to stderr. @default {true} */
  stderr?: boolean;
}

/** Appends JSON lines to a file, flushing at most every 200 ms. */
export class FileLogger implements Logger {
  readonly #file: Deno.FsFile;
  readonly #component: string;
  readonly #maxPending: number;
  readonly #stderr: boolean;
  #pending: string[] = [];
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #encoder = new TextEncoder();

  constructor(path: string, options: FileLoggerOptions) {
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#component = options.component;
    this.#maxPending = options.maxPending ?? 1000;
    this.#stderr = options.stderr ?? true;
  }

  log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    if (this.#stderr && (level === "warn" || level === "error")) {
      console.error(`${this.#component}: ${level}: ${msg}`);
    }
    if (this.#pending.length >= this.#maxPending) {
      this.#dropped++;
      return;
    }
    const entry = { time: new Date().toISOString(), level, component: this.#component, msg };
    this.#pending.push(JSON.stringify({ ...entry, ...fields }));
    this.#timer ??= setTimeout(() => this.flush(), 200);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log("error", msg, fields);
  }

  /** Writes pending entries now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dropped > 0) {
      this.#pending.push(JSON.stringify({
        time: new Date().toISOString(),
        level: "warn",
        component: this.#component,
        msg: "log entries dropped",
        dropped: this.#dropped,
      }));
      this.#dropped = 0;
    }
    if (this.#pending.length === 0) return;
    const entries = this.#pending.length;
    const bytes = this.#encoder.encode(this.#pending.join("\n") + "\n");
    this.#pending = [];
    const size = this.#file.statSync().size;
    try {
      let off = 0;
      while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
    } catch {
      // A full disk (or any failed write) must not end the process from a timer: the entries
      // are counted as dropped (reported once a write succeeds again) and the torn line cut.
      this.#dropped += entries;
      try {
        this.#file.truncateSync(size);
      } catch { /* the next write appends after it; the log stays readable line by line */ }
    }
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    this.#file.close();
  }
}
