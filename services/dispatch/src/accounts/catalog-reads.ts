import { CATALOG_READ_WAIT_MS, GatehouseError } from "@gatehouse/contracts";
import { boundedRead } from "../routes/runner.js";

/**
 * `dispatch.catalog.*` reads running on the database at once, at most: a lookup answered 503 after
 * `CATALOG_READ_WAIT_MS` leaves its query behind (waiting in the pool's queue, or on a connection
 * that hangs) until the database answers, and every lookup ingress asks meanwhile — each call
 * while its caches are not trusted, each made-up name — would leave another. A read takes a
 * millisecond when the database is well, so this many at once is a database that is not.
 */
export const CATALOG_READS_MAX = 64;
/** How long a read that never ends is counted (see `CatalogReads`). */
export const CATALOG_READ_FORGET_MS = 60_000;

/**
 * The catalog reads on their way, given up on or not (one per dispatch process, shared by the
 * account and route lookups): past `max`, a lookup is refused at once with the same retryable 503
 * a read that took too long gets, and starts no query. A read stops counting after `forgetMs` even
 * if the database never answers it (a query stuck on a connection that died silently waits for TCP
 * keepalive, minutes): a hang then adds at most `max` queries a minute, and a few stuck ones cannot
 * refuse every lookup while the rest of the pool works.
 */
export class CatalogReads {
  private running = 0;

  constructor(
    private readonly max = CATALOG_READS_MAX,
    private readonly waitMs = CATALOG_READ_WAIT_MS,
    private readonly forgetMs = CATALOG_READ_FORGET_MS,
  ) {}

  /** `read()`'s answer within `waitMs` (then a 503), or a 503 at once when `max` reads are running. */
  read<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= this.max) {
      return Promise.reject(
        new GatehouseError("service_unavailable", "the gateway could not read its configuration in time", {
          detail: `${this.running} catalog reads are waiting on the database`,
          retryAfterSeconds: 1,
        }),
      );
    }
    this.running++;
    let started: Promise<T>;
    try {
      started = Promise.resolve(read());
    } catch (err) {
      this.running--;
      return Promise.reject(err);
    }
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      this.running--;
      clearTimeout(forget);
    };
    const forget = setTimeout(done, this.forgetMs);
    forget.unref();
    started.then(done, done);
    return boundedRead(started, this.waitMs);
  }

  /** Reads running (tests). */
  get size(): number {
    return this.running;
  }
}
