/**
 * The interface every source implements, and the registry that picks one by the `--source`
 * value's scheme (`simulator`, `file:`, `serial:`, `mqtt://`, `nats://`).
 *
 * A source is one folder under `engine/sources/` (the simulator's is in `simulator/`) that
 * exports a {@linkcode SourceDefinition}; `cli/sources.ts` registers each with one line. The
 * definition says which flags only it reads, checks its settings and permissions before
 * anything starts, and opens into a {@linkcode SourcePlan}: how the run treats the data
 * directory's `stream_output.jsonl` and the stream of batches it reads.
 * @module
 */
import type { Batch } from "../core/batch.ts";
import type { Clock } from "../core/clock.ts";
import { ConfigError, type EngineConfig } from "../core/config.ts";
import type { Logger } from "../core/logger.ts";
import type { EngineState } from "../core/state.ts";
import type { Reading } from "../core/types.ts";

/** What a source is given to check and open itself. */
export interface SourceContext {
  /** The `--source` value, e.g. `serial:/dev/ttyUSB0`. */
  readonly target: string;
  /** The resolved settings of `start`. */
  readonly config: EngineConfig;
  /** The live state: a source reports its `/health` entry here. */
  readonly state: EngineState;
  /** The processor's log. */
  readonly logger: Logger;
  /** Aborted on shutdown: a live source ends its stream. */
  readonly signal: AbortSignal;
}

/** Options of {@linkcode SourceResume.log}. */
export interface LogReadOptions {
  /** Skip (process without writing) the first N lines. @default {the checkpoint's lines} */
  suppressLines?: number;
  /** Keep reading what is appended (`--processor-only`). @default {false} */
  follow?: boolean;
}

/** Where the run resumes, handed to {@linkcode SourcePlan.batches} once the run is open. */
export interface SourceResume {
  /** Input lines the checkpoint says were committed. */
  readonly lines: number;
  /** The data directory's `stream_output.jsonl` as batches (not logged again). */
  log(options?: LogReadOptions): ReadableStream<Batch>;
}

/** The simulator's knobs that `POST /control` may turn (absent for other sources). */
export interface SimulatorControls {
  /** The knobs: anomaly level and fault rate. */
  readonly simulator: { anomalyLevel: number; faultRate: number };
  /** Pauses and resumes the readings. */
  readonly source: { paused: boolean };
}

/** How the run reads an opened source. */
export interface SourcePlan {
  /** The checkpoint's source id: a checkpoint of another id is refused. */
  readonly id: string;
  /** The `/health` source entry that counts readings and errors; null: none. */
  readonly name: string | null;
  /**
   * Whether `stream_output.jsonl` is derived output, cut back to the checkpoint on a restart
   * (the input itself can be read again from a position: a file, a NATS stream), rather than
   * the log of record that live readings are appended to before processing.
   */
  readonly streamDerived: boolean;
  /** The clock of live heartbeat checks; absent: heartbeat from event-time gaps only. */
  readonly heartbeatClock?: Clock;
  /** Told, after each checkpoint, the input lines now committed (NATS acknowledges here). */
  onCommit?(lines: number): void;
  /** The batches the run processes, from where it resumes. */
  batches(resume: SourceResume): ReadableStream<Batch>;
  /** The simulator's knobs for `/control`. */
  readonly controls?: SimulatorControls;
  /** The raw readings only, for `--simulator-only` (log them, process nothing). */
  readonly readingsOnly?: () => ReadableStream<Reading[]>;
  /** Called once the run has ended (`failed`: with an error): release connections. */
  finished?(failed: boolean): void | Promise<void>;
}

/**
 * A kind of source: the scheme its `--source` values start with, the flags only it reads, its
 * checks and how it opens.
 *
 * @example
 * ```ts
 * import type { SourceDefinition } from "./source.ts";
 *
 * const echo: SourceDefinition = {
 *   scheme: "echo:",
 *   usage: "echo:TEXT",
 *   open: ({ target }) => Promise.resolve({
 *     id: target,
 *     name: target,
 *     streamDerived: true,
 *     batches: () => new ReadableStream({ start: (c) => c.close() }),
 *   }),
 * };
 * ```
 */
export interface SourceDefinition {
  /** `simulator` (the whole value) or a prefix: `file:`, `serial:`, `mqtt://`, `nats://`. */
  readonly scheme: string;
  /** The value's form for messages, e.g. `serial:PATH`. */
  readonly usage: string;
  /** Flags (and config keys) that only this source reads, e.g. `["baud"]`. */
  readonly flags?: readonly string[];
  /** Checks settings and permissions before anything starts: a `ConfigError` (exit 2) or a
   * `Deno.errors.NotCapable` naming exactly what is missing. */
  check?(context: SourceContext): void | Promise<void>;
  /** Opens the source; its stream starts when the run pulls from it. */
  open(context: SourceContext): Promise<SourcePlan>;
}

/**
 * The sources `start` can read, by scheme.
 *
 * @example
 * ```ts
 * import { SourceRegistry } from "./source.ts";
 *
 * const sources = new SourceRegistry();
 * // sources.register(fileSource); … one line per source
 * sources.find("simulator"); // undefined until registered
 * ```
 */
export class SourceRegistry {
  readonly #definitions: SourceDefinition[] = [];

  /** Adds a source kind; a scheme may be registered once. */
  register(definition: SourceDefinition): this {
    if (this.#definitions.some((d) => d.scheme === definition.scheme)) {
      throw new Error(`source scheme ${JSON.stringify(definition.scheme)} registered twice`);
    }
    this.#definitions.push(definition);
    return this;
  }

  /** The definition whose scheme `target` has, or undefined. */
  find(target: string): SourceDefinition | undefined {
    return this.#definitions.find((d) =>
      d.scheme.endsWith(":") || d.scheme.endsWith("//")
        ? target.startsWith(d.scheme) && target.length > d.scheme.length
        : target === d.scheme
    );
  }

  /** The definition for `target`; a `ConfigError` naming the value and the accepted forms. */
  get(target: string): SourceDefinition {
    const found = this.find(target);
    if (!found) {
      throw new ConfigError(
        `bad value for --source: ${JSON.stringify(target)} (must be ${this.usages()})`,
      );
    }
    return found;
  }

  /** Every accepted form, for messages: `simulator, file:PATH, …`. */
  usages(): string {
    return this.#definitions.map((d) => d.usage).join(", ");
  }

  /**
   * Refuses a flag that only another source reads, e.g. `--partition 1/3` without a `nats://`
   * source: one line naming the flag, its value and the sources it applies to.
   */
  checkFlags(target: string, given: Readonly<Record<string, unknown>>): void {
    const chosen = this.find(target);
    for (const [flag, value] of Object.entries(given)) {
      const owners = this.#definitions.filter((d) => d.flags?.includes(flag));
      if (owners.length === 0 || (chosen && owners.includes(chosen))) continue;
      throw new ConfigError(
        `--${flag} ${value} applies to --source ${owners.map((d) => d.usage).join(" or ")} only`,
      );
    }
  }
}
