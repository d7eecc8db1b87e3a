/**
 * Exclusive ownership of a NATS partition: a lease in JetStream's key-value store (bucket
 * `vigil-leases`, key = the partition's consumer name `vigil-p<k>-of-<N>`). Two instances on
 * one partition would each ack the other's deliveries and write half the readings each; the
 * second is refused at start instead, naming the holder. The holder renews the lease every
 * third of its TTL; a holder that dies (`kill -9`) stops renewing, the server drops the key
 * after the TTL (the bucket's max age), and a new instance can take over.
 * @module
 */
import type { KV, NatsConnection } from "nats";
import { StartupError, UnavailableError } from "../../core/config.ts";

/** The key-value bucket of the partition leases. */
export const NATS_LEASE_BUCKET = "vigil-leases";

/** Options of {@linkcode NatsLease.acquire}. */
export interface NatsLeaseOptions {
  /** `HOST:PORT` of the server. */
  server: string;
  /** The lease's key: the partition's consumer name, e.g. `vigil-p0-of-3`. */
  key: string;
  /** The partition in words for messages, e.g. `0/3 of nats://127.0.0.1:4222/telemetry`. */
  partition: string;
  /** Who holds it, as another instance's refusal names it, e.g. `pid 4242, --data-dir ./data`. */
  holder: string;
  /** Time after its holder's last renewal that the lease expires, ms (the bucket's max age,
   * one for every partition: the last instance to take a lease sets it, so all instances
   * should be started with the same). */
  ttlMs: number;
  /** @default {NATS_LEASE_BUCKET} */
  bucket?: string;
}

/** Thrown by {@linkcode NatsLease.acquire} when another instance holds the partition. */
export class NatsLeaseHeldError extends StartupError {
  constructor(readonly partition: string, readonly holder: string, bucket: string, key: string) {
    super(
      `NATS partition ${partition} is owned by another instance (${holder}; lease ${bucket}/${key}): ` +
        `stop that instance, or wait for its lease to expire if it died`,
    );
    this.name = "NatsLeaseHeldError";
  }
}

/** The lease was lost while running (another instance took it after it expired). */
export class NatsLeaseLostError extends StartupError {
  constructor(readonly partition: string, readonly holder: string) {
    super(
      `lost NATS partition ${partition} to another instance (${holder}): its lease expired ` +
        `while this one could not renew it; stopped`,
    );
    this.name = "NatsLeaseLostError";
  }
}

/** JetStream's "wrong last sequence": the key was written by someone else meanwhile. */
function wrongSequence(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err?.api_error?.err_code === 10071 || /wrong last sequence/.test(String(err?.message));
}

/**
 * A held lease; renewed in the background until {@linkcode NatsLease.release}.
 *
 * @example
 * ```ts
 * const lease = await NatsLease.acquire({
 *   server: "127.0.0.1:4222",
 *   key: "vigil-p0-of-1",
 *   partition: "0/1 of nats://127.0.0.1:4222/telemetry",
 *   holder: `pid ${Deno.pid}`,
 *   ttlMs: 30_000,
 * });
 * lease.lost.catch((e) => console.error(e.message));
 * await lease.release();
 * ```
 */
export class NatsLease {
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #options: NatsLeaseOptions;
  readonly #value: string;
  #revision: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #renewing = false;
  #lose: (e: NatsLeaseLostError) => void = () => {};
  /** Rejects with a {@linkcode NatsLeaseLostError} if another instance takes the lease. */
  readonly lost: Promise<never>;

  private constructor(
    nc: NatsConnection,
    kv: KV,
    options: NatsLeaseOptions,
    value: string,
    revision: number,
  ) {
    this.#nc = nc;
    this.#kv = kv;
    this.#options = options;
    this.#value = value;
    this.#revision = revision;
    this.lost = new Promise<never>((_, reject) => this.#lose = reject);
    // Nobody may be listening yet; the rejection is still delivered to later handlers.
    this.lost.catch(() => {});
    this.#timer = setInterval(() => this.#renew(), Math.max(100, options.ttlMs / 3));
  }

  /**
   * Takes the lease, or throws a {@linkcode NatsLeaseHeldError} naming its holder. The bucket
   * is created when missing, and its max age set to `ttlMs` when it differs.
   */
  static async acquire(options: NatsLeaseOptions): Promise<NatsLease> {
    const { connect, nanos } = await import("nats");
    const bucket = options.bucket ?? NATS_LEASE_BUCKET;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.server,
        name: `vigil-lease-${options.key}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
      });
    } catch (e) {
      throw new UnavailableError(
        `NATS server ${options.server} cannot be reached (${(e as Error).message}): ` +
          `start it, or check the host and port of --source`,
      );
    }
    try {
      const kv = await nc.jetstream().views.kv(bucket, { history: 1, ttl: options.ttlMs });
      const value = JSON.stringify({ holder: options.holder, since: new Date().toISOString() });
      try {
        const revision = await kv.create(options.key, value);
        // Only an owner sets the TTL: a refused instance must not change the holder's.
        if ((await kv.status()).ttl !== options.ttlMs) {
          const jsm = await nc.jetstreamManager();
          await jsm.streams.update(`KV_${bucket}`, { max_age: nanos(options.ttlMs) });
        }
        return new NatsLease(nc, kv, options, value, revision);
      } catch (e) {
        if (!wrongSequence(e)) throw e;
        throw new NatsLeaseHeldError(
          options.partition,
          await holderOf(kv, options.key),
          bucket,
          options.key,
        );
      }
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
  }

  /** Writes the lease again with the revision this holder last wrote (so the server's age
   * restarts); a key written by another instance meanwhile means the lease is lost. */
  async #renew(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      this.#revision = await this.#kv.update(this.#options.key, this.#value, this.#revision);
    } catch (e) {
      if (!wrongSequence(e)) return; // disconnected: tried again at the next tick
      // Expired while unreachable: take it again if nobody else has.
      try {
        this.#revision = await this.#kv.create(this.#options.key, this.#value);
      } catch (e2) {
        if (!wrongSequence(e2)) return;
        clearInterval(this.#timer);
        this.#timer = undefined;
        this.#lose(
          new NatsLeaseLostError(
            this.#options.partition,
            await holderOf(this.#kv, this.#options.key),
          ),
        );
      }
    } finally {
      this.#renewing = false;
    }
  }

  /** Stops renewing, deletes the lease if this instance still holds it, and disconnects. */
  async release(): Promise<void> {
    if (this.#timer === undefined && this.#nc.isClosed()) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      await this.#kv.delete(this.#options.key, { previousSeq: this.#revision });
    } catch {
      // Lost or unreachable: it expires by itself.
    }
    await this.#nc.close().catch(() => {});
  }
}

/** The holder named by the lease `key`, or a description when it cannot be read. */
async function holderOf(kv: KV, key: string): Promise<string> {
  try {
    const entry = await kv.get(key);
    if (!entry || entry.operation !== "PUT") return "unknown holder";
    return String(JSON.parse(entry.string()).holder);
  } catch {
    return "unknown holder";
  }
}
