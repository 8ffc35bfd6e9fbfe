import {
  type AccessEventEnvelope,
  authValidate,
  GatehouseError,
  refusalError,
  type ValidateResponse,
} from "@gatehouse/contracts";
import { hashKey, parseKey } from "@gatehouse/keys";
import type { FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import type { IngressContext } from "../context.js";
import { dialectOf } from "../http/errors.js";
import type { Caller } from "./caller.js";
import { clientKey, FailureLimiter } from "./failure-limiter.js";
import { KeyCache } from "./key-cache.js";

/** The key text from `Authorization: Bearer`, or `x-api-key` on Anthropic-dialect routes. */
export function keyFromHeaders(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === "string" && authorization.length > 0) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    // A present but unusable Authorization header is a malformed key, not a missing one.
    return m?.[1] ?? "";
  }
  if (dialectOf(request) === "anthropic") {
    const apiKey = request.headers["x-api-key"];
    if (typeof apiKey === "string" && apiKey.length > 0) return apiKey.trim();
  }
  return undefined;
}

/** Which cached positives an auth access event makes stale. */
export function affectedBy(
  envelope: AccessEventEnvelope,
): ((c: Caller, keyHash: string) => boolean) | undefined {
  if (envelope.source !== "auth") return undefined;
  const e = envelope.event;
  switch (e.type) {
    case "key.revoked":
      return (c, hash) => c.keyId === e.keyId || hash === e.keyHash;
    case "key.expiry_shortened":
      // Dropped rather than re-timed here: the next request asks auth, whose answer is cached only
      // until the new expiry by auth's own clock.
      return (c, hash) => c.keyId === e.keyId || hash === e.keyHash;
    case "user.deactivated":
    case "user.keys_revoked":
      return (c) => c.principal.id === e.userId;
    case "keys.all_revoked":
      return (c) => c.keyKind === "pat";
    case "virtual_account.deleted":
      return (c) => c.principal.id === e.virtualAccountId;
    default:
      return undefined;
  }
}

/** What a too-many-failures refusal says, in either dialect. */
export function tooManyFailures(retryAfterSeconds: number, what = "authentications"): GatehouseError {
  return new GatehouseError(
    "too_many_failed_authentications",
    `too many failed ${what} from this address; retry after ${retryAfterSeconds} s`,
    { retryAfterSeconds },
  );
}

/**
 * The authentication pre-handler. Malformed keys are refused here without any I/O; otherwise only
 * the key's SHA-256 goes to `auth.validate`. Cached positives are used only while the access feed
 * is trusted; auth events drop what they affect. An auth outage surfaces as the bus error (503/504),
 * never as 401.
 *
 * Well-formed keys that fail draw on their client address's allowance (`FailureLimiter`); once it is
 * spent, keys from that address are refused with 429 without asking auth — unless this replica has
 * seen the key valid, so a real key is never refused because its address also sends junk.
 */
export function createAuthenticator(
  ctx: Omit<IngressContext, "authenticate">,
  cache = new KeyCache({ maxKeys: ctx.config.keyCacheMaxKeys, maxUnknown: ctx.config.keyCacheMaxUnknown }),
  limiter = new FailureLimiter(ctx.config.failedAuth),
): preHandlerAsyncHookHandler {
  ctx.feed.onEvent((envelope) => {
    const predicate = affectedBy(envelope);
    if (predicate) cache.dropPositives(predicate);
  });
  ctx.feed.onReset(() => cache.clearPositives());

  /** `sent` hears the feed epoch at which each request to auth leaves (the first, and a retry). */
  async function ask(keyHash: string, sent?: (epoch: number) => void): Promise<ValidateResponse> {
    const epoch = ctx.feed.epoch();
    const answer = await ctx.client.request(authValidate, { keyHash });
    if (ctx.feed.epoch() === epoch) {
      store(keyHash, answer);
      return answer;
    }
    // An event was applied while we waited: this answer may predate it. Ask once more and cache
    // the second answer only if nothing moved again.
    const retryEpoch = ctx.feed.epoch();
    sent?.(retryEpoch);
    const second = await ctx.client.request(authValidate, { keyHash });
    if (ctx.feed.epoch() === retryEpoch) store(keyHash, second);
    return second;
  }

  // Concurrent calls with one key that is not cached share one validation, while the feed is
  // trusted: when a busy key's entry expired under a burst (1,000 streams at once), each call asked
  // auth itself, and a thousand identical validations made many of them time out (504). A call joins
  // only a request that left at the feed's current epoch, so no event (a revoke that has returned)
  // was applied since it left; `ask` asks again when one is applied while it waits. A call that comes
  // after an event asks anew, and calls after it share that. While the feed is untrusted every call
  // asks alone.
  const inflight = new Map<string, { epoch: number; answer: Promise<ValidateResponse> }>();
  function validate(keyHash: string): Promise<ValidateResponse> {
    if (!ctx.feed.trusted()) return ask(keyHash);
    const running = inflight.get(keyHash);
    if (running && running.epoch === ctx.feed.epoch()) return running.answer;
    // `sent` runs only after the first request's await, when `shared` exists.
    const shared: { epoch: number; answer: Promise<ValidateResponse> } = {
      epoch: ctx.feed.epoch(),
      answer: ask(keyHash, (epoch) => {
        shared.epoch = epoch;
      }),
    };
    inflight.set(keyHash, shared);
    void shared.answer
      .finally(() => {
        if (inflight.get(keyHash) === shared) inflight.delete(keyHash);
      })
      .catch(() => {});
    return shared.answer;
  }

  function store(keyHash: string, answer: ValidateResponse): void {
    const now = Date.now();
    if (answer.outcome === "valid") {
      // Not while the feed is untrusted: an event this replica has not received may already have
      // ended the key, and nothing would drop the entry until that event arrives.
      if (!ctx.feed.trusted()) return;
      const caller: Caller = {
        principal: answer.principal,
        keyId: answer.key.id,
        keyKind: answer.key.kind,
        keyHash,
      };
      const expiresAt = Date.parse(answer.key.expiresAt ?? "");
      cache.setPositive(
        keyHash,
        caller,
        answer.cacheTtlMs,
        now,
        Number.isNaN(expiresAt) ? undefined : expiresAt,
      );
    } else if (answer.outcome === "unknown") {
      cache.setNegative(keyHash, answer.cacheTtlMs, now);
    }
  }

  return async function authenticate(request) {
    const key = keyFromHeaders(request);
    if (key === undefined) {
      throw new GatehouseError(
        "missing_api_key",
        "this request needs an API key: send it as 'Authorization: Bearer <key>'",
      );
    }
    if (!parseKey(key).ok) {
      throw new GatehouseError("malformed_api_key", "the API key is malformed (check for a typo)");
    }
    const keyHash = hashKey(key);
    const now = Date.now();
    const hit = cache.get(keyHash, now);
    if (hit?.kind === "positive" && ctx.feed.trusted()) {
      ctx.metrics.cacheLookup("key", true);
      request.caller = hit.caller;
      return;
    }
    // A cached refusal is a hit too: auth is not asked.
    ctx.metrics.cacheLookup("key", hit?.kind === "negative");
    const address = clientKey(request.ip);
    if (!cache.knownValidKey(keyHash, now)) {
      const wait = limiter.retryAfterSeconds(address);
      if (wait > 0) throw tooManyFailures(wait);
    }
    if (hit?.kind === "negative") {
      limiter.fail(address);
      throw refusalError("unknown");
    }
    const answer = await validate(keyHash);
    if (answer.outcome !== "valid") {
      limiter.fail(address);
      throw refusalError(answer.outcome);
    }
    request.caller = { principal: answer.principal, keyId: answer.key.id, keyKind: answer.key.kind, keyHash };
  };
}
