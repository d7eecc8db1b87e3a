/**
 * Scale-out over NATS JetStream: how readings are partitioned by machine, the server
 * configuration that does it, and the stream and per-partition durable consumers (created
 * idempotently by every engine instance).
 *
 * Readings are published on `<subject>.<machine>` (e.g. `telemetry.m7`). The server maps each
 * subject, before anything else sees it, to `<prefix>.<k>.<machine>` with
 * `k = partition(N, machine)`: FNV-1a (32 bits) of the machine token's bytes, modulo N
 * ({@linkcode partitionOf} computes the same). The stream (default `VIGIL`) stores
 * `<prefix>.>`; partition k of N is read by the durable consumer `vigil-p<k>-of-<N>` filtered
 * on `<prefix>.<k>.>` (N = 1: on `<prefix>.>`, every reading). One machine therefore always lands in one partition, in publish order, and
 * one engine instance owns each partition.
 * @module
 */
import type { ConsumerInfo, JetStreamManager, StreamConfig } from "nats";

/** Stream name. */
export const NATS_STREAM = "VIGIL";
/** Subject prefix of the partitioned subjects: `vigil.p.<k>.<machine>`. */
export const NATS_PARTITION_PREFIX = "vigil.p";

/**
 * The partition of a machine id among `partitions`, exactly as nats-server's subject mapping
 * `{{partition(N,1)}}` computes it (FNV-1a 32 over the token's UTF-8 bytes, modulo N).
 * @throws {RangeError} when `partitions` is not a positive integer.
 */
export function partitionOf(machine: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(machine)) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}

/** Options of {@linkcode natsServerConfig}. */
export interface NatsServerConfigOptions {
  /** Number of partitions N; every engine instance must be started with `--partition k/N`. */
  partitions: number;
  /** Where JetStream keeps its files. */
  storeDir: string;
  /** @default {"127.0.0.1"} */
  host?: string;
  /** @default {4222} */
  port?: number;
  /** The subject readings are published under (`<subject>.<machine>`). @default {"telemetry"} */
  subject?: string;
  /** @default {NATS_PARTITION_PREFIX} */
  prefix?: string;
}

/**
 * A `nats-server` configuration (v2.9 syntax) with JetStream on and the partition mapping,
 * e.g. for N = 3: `mappings = { "telemetry.*": "vigil.p.{{partition(3,1)}}.{{wildcard(1)}}" }`.
 */
export function natsServerConfig(options: NatsServerConfigOptions): string {
  partitionOf("", options.partitions); // validates N
  const subject = options.subject ?? "telemetry";
  const prefix = options.prefix ?? NATS_PARTITION_PREFIX;
  return [
    `listen: ${JSON.stringify(`${options.host ?? "127.0.0.1"}:${options.port ?? 4222}`)}`,
    `jetstream { store_dir: ${JSON.stringify(options.storeDir)} }`,
    "mappings = {",
    `  ${JSON.stringify(`${subject}.*`)}: ${
      JSON.stringify(`${prefix}.{{partition(${options.partitions},1)}}.{{wildcard(1)}}`)
    }`,
    "}",
    "",
  ].join("\n");
}

/** Options of {@linkcode ensureStream}. */
export interface EnsureStreamOptions {
  /** @default {NATS_STREAM} */
  stream?: string;
  /** @default {NATS_PARTITION_PREFIX} */
  prefix?: string;
  /**
   * How long the stream keeps a reading, ms: the bound of the broker's buffer. An instance that
   * is down for longer loses what expired (limits retention, oldest dropped first).
   * @default {604800000 (7 days)}
   */
  maxAgeMs?: number;
}

/**
 * Creates the file-backed stream over `<prefix>.>` unless it exists (an existing stream is kept
 * as the operator configured it, but must capture the partitioned subjects).
 * @throws {Error} naming the stream when an existing one does not store `<prefix>.>`.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  options: EnsureStreamOptions = {},
): Promise<void> {
  const name = options.stream ?? NATS_STREAM;
  const subject = `${options.prefix ?? NATS_PARTITION_PREFIX}.>`;
  const config: Partial<StreamConfig> = {
    name,
    subjects: [subject],
    // String literals of the nats enums: importing the enums would load the client here.
    storage: "file" as StreamConfig["storage"],
    retention: "limits" as StreamConfig["retention"],
    discard: "old" as StreamConfig["discard"],
    max_age: (options.maxAgeMs ?? 7 * 24 * 3600 * 1000) * 1e6,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const info = await jsm.streams.info(name);
      if (!info.config.subjects?.includes(subject)) {
        throw new Error(
          `NATS stream ${name} stores ${JSON.stringify(info.config.subjects)}, not ${subject}`,
        );
      }
      return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    try {
      await jsm.streams.add(config);
      return;
    } catch (e) {
      // Another instance created it meanwhile: check it on the next attempt.
      if (!/already in use/i.test(String((e as Error).message))) throw e;
    }
  }
}

/** Options of {@linkcode ensureConsumer}. */
export interface EnsureConsumerOptions {
  /** This instance's partition k, 0 ≤ k < `partitions`. */
  partition: number;
  partitions: number;
  /** The stream sequence of the last reading this instance has committed (0: none). */
  position: number;
  /** @default {NATS_STREAM} */
  stream?: string;
  /** @default {NATS_PARTITION_PREFIX} */
  prefix?: string;
  /** Unacknowledged messages the server delivers at most, a bound of what is in flight.
   * @default {20000} */
  maxAckPending?: number;
  /** How long a delivered message may stay unacknowledged before the server redelivers it,
   * ms. @default {60000} */
  ackWaitMs?: number;
}

/**
 * The durable consumer of partition k of N: `vigil-p<k>-of-<N>`, so that setups with another
 * N (say one instance reading everything, `0/1`) can read the same stream side by side.
 */
export function consumerName(partition: number, partitions: number): string {
  return `vigil-p${partition}-of-${partitions}`;
}

/**
 * Makes the durable pull consumer of a partition deliver from `position + 1`, in stream order.
 *
 * The engine's checkpoint, not the consumer, is the authority on what was processed: a
 * consumer whose acknowledged floor is exactly `position` with nothing in flight is bound as
 * it is; any other (messages delivered to an instance that died before committing them, an
 * acknowledgement lost in a crash, a fresh data directory, another filter) is deleted and
 * created again starting at `position + 1`. That is what keeps a restart in order: JetStream
 * would otherwise redeliver the unacknowledged messages only after `ack_wait`, behind newer
 * ones. AckAll: one acknowledgement per committed batch covers every message before it.
 * @returns the consumer's name.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  options: EnsureConsumerOptions,
): Promise<string> {
  const { partition, partitions, position } = options;
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitions) {
    throw new RangeError(`partition must be an integer in [0, ${partitions}), got ${partition}`);
  }
  if (!Number.isSafeInteger(position) || position < 0) {
    throw new RangeError(`position must be an integer >= 0, got ${position}`);
  }
  const stream = options.stream ?? NATS_STREAM;
  const name = consumerName(partition, partitions);
  const prefix = options.prefix ?? NATS_PARTITION_PREFIX;
  // One partition of one: everything, whatever N the server's mapping uses.
  const filter = partitions === 1 ? `${prefix}.>` : `${prefix}.${partition}.>`;
  let info: ConsumerInfo | null = null;
  try {
    info = await jsm.consumers.info(stream, name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (
    info && info.config.filter_subject === filter && info.config.ack_policy === "all" &&
    info.ack_floor.stream_seq === position && info.num_ack_pending === 0
  ) return name;
  if (info) await jsm.consumers.delete(stream, name);
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: filter,
    ack_policy: "all" as never,
    ack_wait: (options.ackWaitMs ?? 60_000) * 1e6,
    max_ack_pending: options.maxAckPending ?? 20_000,
    max_deliver: -1,
    ...(position === 0
      ? { deliver_policy: "all" as never }
      : { deliver_policy: "by_start_sequence" as never, opt_start_seq: position + 1 }),
  });
  return name;
}

function isNotFound(e: unknown): boolean {
  return /not found/i.test(String((e as Error)?.message ?? e));
}
