import { decodeJson } from "@gatehouse/bus";
import { AccessEventEnvelope, accessEventSubject } from "@gatehouse/contracts";
import type { RetryReason } from "@gatehouse/kit";
import type { ClientOptions, ProviderAccount, ProviderClient } from "@gatehouse/providers";
import { createProviderClient } from "@gatehouse/providers";
import type { NatsConnection, Subscription } from "nats";
import type { ModelPrice } from "./cost.js";

/** A decrypted account as the invoke path needs it. */
export interface LoadedAccount {
  readonly account: ProviderAccount;
  readonly enabled: boolean;
  /** The account's model prices at load time, for the usage records' cost. */
  readonly prices: ReadonlyMap<string, ModelPrice>;
  /** Changes whenever the account row changes (credentials, base URL, options). */
  readonly version: string;
}

/** Where the invoke path gets accounts from (the accounts module, over this service's own tables). */
export interface AccountSource {
  load(name: string): Promise<LoadedAccount | undefined>;
}

interface Entry {
  loaded: LoadedAccount | undefined;
  loadedAt: number;
  client: ProviderClient | undefined;
  /** The client routes use: no retries of its own, a route falls back to its next target instead. */
  routed: ProviderClient | undefined;
}

/**
 * Decrypted accounts are kept for a short time and each account keeps one provider client (one
 * pooled keep-alive connection set) until the account changes. Disable/delete events drop an entry
 * on every replica at once (`dropOnAccountEvents`); other changes (credentials, base URL, options)
 * are picked up when the entry is older than the TTL: the next call starts reading the account
 * again and calls go on with the entry they have until the new one is there (one read for all,
 * rather than every call of a burst waiting on its own read and decryption each TTL), for at most
 * one more TTL: a read that has not answered by then (a database that hangs) is given up and calls
 * wait on a new one, so an entry is never used longer than twice the TTL.
 */
export class ProviderClients {
  private readonly entries = new Map<string, Entry>();
  /** Reads on their way, one per account; a `drop` forgets them, so what they read is not kept. */
  private readonly loading = new Map<string, { read: Promise<Entry>; at: number }>();
  private readonly routedOptions: ClientOptions;

  constructor(
    private readonly source: AccountSource,
    private readonly options: ClientOptions,
    private readonly ttlMs: number,
    /** Hears each provider retry with the account it was for (metrics). */
    private readonly onRetry?: (account: string, reason: RetryReason) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.routedOptions = { ...options, maxRetries: 0 };
  }

  /**
   * The account's client. `routed`: the one a route calls through, which does not retry (a retry
   * of a refusing or rate-limited target only delays the fallback); made on first use, so an
   * account no route uses never opens a second pool.
   */
  async get(
    name: string,
    routed = false,
  ): Promise<{ loaded: LoadedAccount; client: ProviderClient } | undefined> {
    const hit = this.peek(name, routed);
    if (hit) return hit;
    // No such account, as read less than a TTL ago.
    const entry = this.entries.get(name);
    if (entry && this.now() - entry.loadedAt <= this.ttlMs) return undefined;
    return this.clientOf(name, await this.load(name), routed);
  }

  /**
   * The account's client when its entry is fresh, or is being read again and less than two TTLs old
   * (no await); `undefined` means: ask `get`.
   */
  peek(name: string, routed = false): { loaded: LoadedAccount; client: ProviderClient } | undefined {
    const entry = this.entries.get(name);
    if (!entry?.loaded) return undefined;
    const age = this.now() - entry.loadedAt;
    if (age > this.ttlMs) {
      // Not past a second TTL, however long the read takes: a hanging read would keep it for good.
      if (age > 2 * this.ttlMs) return undefined;
      // Past the TTL: one read replaces the entry; until then the calls keep it. A read that fails
      // drops it (below), so the next call reads the account itself and sees the error.
      if (!this.loading.has(name)) this.load(name).catch(() => {});
    }
    return this.clientOf(name, entry, routed);
  }

  /**
   * Reads the account (one read per account at a time, given up after a TTL without an answer)
   * and stores it unless dropped meanwhile.
   */
  private load(name: string): Promise<Entry> {
    const running = this.loading.get(name);
    if (running && this.now() - running.at <= this.ttlMs) return running.read;
    const read: Promise<Entry> = this.source.load(name).then(
      (loaded) => {
        // Dropped while reading (disabled, deleted, changed here), or given up: what was read may
        // predate a change; the read on its way now (if any, else a new one) answers instead.
        if (this.loading.get(name)?.read !== read) return this.load(name);
        this.loading.delete(name);
        const previous = this.entries.get(name);
        const sameVersion = previous?.loaded && loaded && previous.loaded.version === loaded.version;
        const entry: Entry = {
          loaded,
          loadedAt: this.now(),
          client: sameVersion ? previous?.client : undefined,
          routed: sameVersion ? previous?.routed : undefined,
        };
        if (!sameVersion) {
          void previous?.client?.close();
          void previous?.routed?.close();
        }
        this.entries.set(name, entry);
        return entry;
      },
      (err: unknown) => {
        if (this.loading.get(name)?.read === read) {
          this.loading.delete(name);
          // Not served on past its TTL when it cannot be read again.
          const stale = this.entries.get(name);
          if (stale && this.now() - stale.loadedAt > this.ttlMs) this.drop(name);
        }
        throw err;
      },
    );
    this.loading.set(name, { read, at: this.now() });
    return read;
  }

  private clientOf(
    name: string,
    entry: Entry,
    routed: boolean,
  ): { loaded: LoadedAccount; client: ProviderClient } | undefined {
    if (!entry.loaded) return undefined;
    if (routed) {
      entry.routed ??= createProviderClient(entry.loaded.account, this.routedOptions);
      return { loaded: entry.loaded, client: entry.routed };
    }
    if (entry.client === undefined) {
      const onRetry = this.onRetry;
      entry.client = createProviderClient(
        entry.loaded.account,
        onRetry ? { ...this.options, onRetry: (reason) => onRetry(name, reason) } : this.options,
      );
    }
    return { loaded: entry.loaded, client: entry.client };
  }

  /** Forget an account now (it was updated, disabled or deleted). */
  drop(name: string): void {
    const entry = this.entries.get(name);
    this.entries.delete(name);
    this.loading.delete(name);
    void entry?.client?.close();
    void entry?.routed?.close();
  }

  /** Forget every account now, and what reads on their way will return (events may have been missed). */
  dropAll(): void {
    for (const name of [...this.entries.keys(), ...this.loading.keys()]) this.drop(name);
  }

  async close(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(all.flatMap((e) => [e.client?.close(), e.routed?.close()]));
  }
}

/**
 * Every dispatch replica forgets an account the moment any replica disables or deletes it (the
 * access events dispatch itself publishes), so a deleted account's client is never reused — even if
 * an account of the same name is created right after. The events come on a plain subscription: one
 * sent while this replica was cut off from NATS never arrives, so after a reconnect every account
 * and plan is forgotten (for a routed call, this cache is what keeps a disabled target out).
 */
export function dropOnAccountEvents(
  nc: NatsConnection,
  prefix: string,
  clients: ProviderClients,
  routes?: {
    drop(name: string): void;
    clear(): void;
    /** The route was deleted: what is kept about it beyond its plan (its targets' breakers) goes too. */
    forget?(name: string): void;
  },
): Subscription {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type !== "reconnect") continue;
      clients.dropAll();
      routes?.clear();
    }
  })();
  return nc.subscribe(accessEventSubject(prefix, "dispatch"), {
    callback: (err, msg) => {
      if (err) return;
      let parsed: ReturnType<typeof AccessEventEnvelope.safeParse>;
      try {
        parsed = AccessEventEnvelope.safeParse(decodeJson(msg.data));
      } catch {
        return;
      }
      if (!parsed.success) return;
      const event = parsed.data.event;
      if (event.type === "account.disabled" || event.type === "account.deleted") {
        clients.drop(event.account);
        routes?.clear();
      }
      if (event.type === "route.updated" || event.type === "route.deleted") routes?.drop(event.route);
      if (event.type === "route.deleted") routes?.forget?.(event.route);
    },
  });
}
