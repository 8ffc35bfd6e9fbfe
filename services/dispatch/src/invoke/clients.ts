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
 * are picked up when the entry is older than the TTL.
 */
export class ProviderClients {
  private readonly entries = new Map<string, Entry>();
  private readonly routedOptions: ClientOptions;

  constructor(
    private readonly source: AccountSource,
    private readonly options: ClientOptions,
    private readonly ttlMs: number,
    /** Hears each provider retry with the account it was for (metrics). */
    private readonly onRetry?: (account: string, reason: RetryReason) => void,
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
    let entry = this.entries.get(name);
    if (!entry || Date.now() - entry.loadedAt > this.ttlMs) {
      const loaded = await this.source.load(name);
      const previous = entry;
      const sameVersion = previous?.loaded && loaded && previous.loaded.version === loaded.version;
      entry = {
        loaded,
        loadedAt: Date.now(),
        client: sameVersion ? previous?.client : undefined,
        routed: sameVersion ? previous?.routed : undefined,
      };
      if (!sameVersion) {
        void previous?.client?.close();
        void previous?.routed?.close();
      }
      this.entries.set(name, entry);
    }
    return this.clientOf(name, entry, routed);
  }

  /** The account's client when its entry is fresh (no load, no promise); `undefined` means: ask `get`. */
  peek(name: string, routed = false): { loaded: LoadedAccount; client: ProviderClient } | undefined {
    const entry = this.entries.get(name);
    if (!entry || Date.now() - entry.loadedAt > this.ttlMs) return undefined;
    return this.clientOf(name, entry, routed);
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
    void entry?.client?.close();
    void entry?.routed?.close();
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
 * an account of the same name is created right after.
 */
export function dropOnAccountEvents(
  nc: NatsConnection,
  prefix: string,
  clients: ProviderClients,
  routes?: { drop(name: string): void; clear(): void },
): Subscription {
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
    },
  });
}
