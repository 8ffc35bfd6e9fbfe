import { type Dialect, GatehouseError, type RateLimitRule } from "@gatehouse/contracts";
import type { FastifyReply } from "fastify";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { Quota } from "./quota.js";
import { RuleBook } from "./rules.js";

interface LimitState {
  book: RuleBook;
  /** Slices of limits on one subject, by limit id. */
  quotas: Map<string, Quota>;
  /** Slices of default limits, by limit id and then subject id: each subject has its own. */
  defaults: Map<string, DefaultSlices>;
}

interface DefaultSlices {
  bySubject: Map<string, Quota>;
  /** At this many subjects the slices of ended windows are swept out (then at twice what is left). */
  sweepAt: number;
}

/** A default limit's slices are swept of ended windows when it holds this many subjects. */
const DEFAULT_SLICES_SWEEP_AT = 1_024;

const states = new WeakMap<IngressContext, LimitState>();

function stateOf(ctx: IngressContext): LimitState {
  let state = states.get(ctx);
  if (!state) {
    const book = new RuleBook(ctx.client, ctx.feed, ctx.logger);
    const quotas = new Map<string, Quota>();
    const defaults = new Map<string, DefaultSlices>();
    book.onDrop = (id) => {
      quotas.delete(id);
      defaults.delete(id);
    };
    state = { book, quotas, defaults };
    states.set(ctx, state);
  }
  return state;
}

/** Fetch the rate limits now, so the first call does not wait for them (failures are retried by calls). */
export function preloadLimits(ctx: IngressContext): void {
  void stateOf(ctx)
    .book.ready()
    .catch(() => {});
}

/** What a call was admitted with: settled with its usage when it ends. */
export interface Admission {
  quotas: Quota[];
  /** The window each quota was charged in (a slice of an ended window is not settled). */
  windows: number[];
  estimate: number;
}

export interface CallTarget {
  /** Undefined for a call through a route: dispatch picks its target, so only unscoped limits apply. */
  account?: string | undefined;
  model?: string | undefined;
  /** The teams whose grant allowed the call. */
  teams: readonly string[] | undefined;
}

function applies(rule: RateLimitRule, target: CallTarget): boolean {
  return (
    (rule.account === null || rule.account === target.account) &&
    (rule.model === null || rule.model === target.model)
  );
}

/** A limit that applies to a call, and for a default limit the subject it counts the call for. */
interface Applied {
  rule: RateLimitRule;
  subjectId: string | undefined;
}

const sameScope = (a: RateLimitRule, b: RateLimitRule) => a.account === b.account && a.model === b.model;

/**
 * The limits on the caller and on the teams whose grant allowed the call, whose scope matches it;
 * and each default of the subject's kind unless the subject has a limit of its own with the
 * default's scope (which replaces it).
 */
function applicable(book: RuleBook, caller: Caller, target: CallTarget): Applied[] | undefined {
  let found: Applied[] | undefined;
  const push = (applied: Applied) => {
    if (found === undefined) found = [applied];
    else found.push(applied);
  };
  const add = (kind: string, id: string) => {
    const own = book.of(kind, id);
    if (own !== undefined) {
      for (const rule of own) {
        if (!applies(rule, target)) continue;
        push({ rule, subjectId: undefined });
      }
    }
    const defaults = book.defaultsOf(kind);
    if (defaults === undefined) return;
    for (const rule of defaults) {
      if (!applies(rule, target) || own?.some((r) => sameScope(r, rule))) continue;
      push({ rule, subjectId: id });
    }
  };
  add(caller.principal.kind, caller.principal.id);
  if (target.teams) for (const team of target.teams) add("team", team);
  return found;
}

/** Tokens a call is pre-charged: the prompt at ~4 bytes a token, plus the most it may generate. */
export function estimateTokens(bodyBytes: number, body: unknown): number {
  let most = 0;
  if (body !== null && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const field of ["max_tokens", "max_completion_tokens", "max_output_tokens"]) {
      const v = b[field];
      if (typeof v === "number" && Number.isFinite(v) && v > 0)
        most = Math.max(most, Math.min(v, 10_000_000));
    }
  }
  return Math.ceil(bodyBytes / 4) + Math.floor(most);
}

/**
 * A call waits for at most this many slices of each limit before it gives up with 429: each lease
 * either grants something (and the waiters are counted in what is asked for) or marks the window
 * spent. Counted per limit: a member of many teams under a team default has a limit per team, each
 * with an empty slice when a window starts.
 */
const MAX_ROUNDS = 32;

/**
 * Admit a call against every rate limit that applies to it, from this replica's slices (no message
 * unless a slice is empty), or refuse it: 429 `rate_limited` when a limit's window is spent, 503
 * when acl cannot be asked for a slice and the limit is not fail-open. Sets the rate-limit headers
 * of the tightest limit on `reply`. Returns undefined when no limit applies (the common case costs
 * a Map lookup, and nothing when the gateway has no limits).
 */
export function admit(
  ctx: IngressContext,
  caller: Caller,
  target: CallTarget,
  body: unknown,
  bodyBytes: number,
  dialect: Dialect,
  reply: FastifyReply,
): Admission | undefined | Promise<Admission | undefined> {
  const state = stateOf(ctx);
  // No limit on this call (or none at all): answered without a promise, so it pays a Map lookup.
  if (state.book.isLoaded) {
    if (state.book.size === 0) return undefined;
    const rules = applicable(state.book, caller, target);
    if (rules === undefined) return undefined;
    return admitUnder(ctx, state, rules, body, bodyBytes, dialect, reply);
  }
  return admitFrom(ctx, state, caller, target, body, bodyBytes, dialect, reply);
}

async function admitFrom(
  ctx: IngressContext,
  state: LimitState,
  caller: Caller,
  target: CallTarget,
  body: unknown,
  bodyBytes: number,
  dialect: Dialect,
  reply: FastifyReply,
): Promise<Admission | undefined> {
  await state.book.ready();
  const rules = applicable(state.book, caller, target);
  if (rules === undefined) return undefined;
  return admitUnder(ctx, state, rules, body, bodyBytes, dialect, reply);
}

/** Admitted from the slices held (no promise) when they all have room: the common case. */
function admitUnder(
  ctx: IngressContext,
  state: LimitState,
  rules: Applied[],
  body: unknown,
  bodyBytes: number,
  dialect: Dialect,
  reply: FastifyReply,
): Admission | Promise<Admission> {
  let estimate = 0;
  for (const { rule } of rules) {
    if (rule.tokensPerMinute === null) continue;
    estimate = estimateTokens(bodyBytes, body);
    break;
  }
  const now = Date.now();
  const quotas: Quota[] = [];
  let roomy = true;
  for (const { rule, subjectId } of rules) {
    const q = quotaFor(ctx, state, rule, subjectId, now);
    q.roll(now);
    if (roomy && !q.fits(now, estimate)) roomy = false;
    quotas.push(q);
  }
  if (roomy) return charge(ctx, quotas, undefined, estimate, dialect, reply, now);
  return admitAfterLeases(ctx, state, quotas, estimate, dialect, reply);
}

/** Some slice is empty: lease (waiting), then admit, or refuse once acl says the window is spent. */
async function admitAfterLeases(
  ctx: IngressContext,
  state: LimitState,
  quotas: Quota[],
  estimate: number,
  dialect: Dialect,
  reply: FastifyReply,
): Promise<Admission> {
  const open = new Set<Quota>();
  const rounds = new Map<Quota, number>();
  for (;;) {
    const now = Date.now();
    let missing: Quota | undefined;
    for (const q of quotas) {
      q.roll(now);
      if (!open.has(q) && !q.fits(now, estimate)) {
        missing = q;
        break;
      }
    }
    if (missing === undefined) return charge(ctx, quotas, open, estimate, dialect, reply, now);
    const round = rounds.get(missing) ?? 0;
    if (missing.refusable(estimate) || round >= MAX_ROUNDS) refuse(missing, now, dialect, reply);
    rounds.set(missing, round + 1);
    const outcome = await missing.refill(ctx.client, estimate, Date.now);
    if (outcome === "open") open.add(missing);
    else if (outcome === "gone") {
      // Deleted meanwhile (the event may still be on its way): it limits nothing any more.
      dropQuota(state, missing);
      quotas.splice(quotas.indexOf(missing), 1);
    } else if (outcome === "exhausted" && missing.refusable(estimate)) {
      refuse(missing, Date.now(), dialect, reply);
    }
  }
}

/** Take the call from every slice (not from a fail-open one acl could not be asked about). */
function charge(
  ctx: IngressContext,
  quotas: Quota[],
  open: ReadonlySet<Quota> | undefined,
  estimate: number,
  dialect: Dialect,
  reply: FastifyReply,
  now: number,
): Admission {
  const windows: number[] = [];
  for (const q of quotas) {
    if (open === undefined || !open.has(q)) q.take(estimate);
    windows.push(q.windowEnd);
    if (q.wantsTopUp()) void q.refill(ctx.client, 0, Date.now).catch(() => {});
  }
  setHeaders(reply, dialect, quotas, now);
  return { quotas, windows, estimate };
}

/**
 * When the call ended with usage: charge its real token count instead of the estimate. A call that
 * ends without usage (an error, a client that left) keeps its estimate charged.
 */
export function settle(admission: Admission | undefined, usageJson: string | Buffer | undefined): void {
  if (admission === undefined || admission.estimate === 0) return;
  if (usageJson === undefined || usageJson.length === 0) return;
  let actual: number;
  try {
    const usage = JSON.parse(usageJson.toString()) as { totalTokens?: unknown };
    if (typeof usage.totalTokens !== "number" || !(usage.totalTokens >= 0)) return;
    actual = usage.totalTokens;
  } catch {
    return;
  }
  admission.quotas.forEach((q, i) => {
    q.settle(admission.estimate, actual, admission.windows[i] ?? 0);
  });
}

function quotaFor(
  ctx: IngressContext,
  state: LimitState,
  rule: RateLimitRule,
  subjectId: string | undefined,
  now: number,
): Quota {
  let slices: DefaultSlices | undefined;
  let q: Quota | undefined;
  if (subjectId === undefined) q = state.quotas.get(rule.id);
  else {
    slices = state.defaults.get(rule.id);
    if (slices === undefined) {
      slices = { bySubject: new Map(), sweepAt: DEFAULT_SLICES_SWEEP_AT };
      state.defaults.set(rule.id, slices);
    }
    q = slices.bySubject.get(subjectId);
  }
  if (q !== undefined && q.rule === rule) return q;
  const slice = (n: number | null) =>
    n === null ? 0 : Math.max(1, Math.ceil(n * ctx.config.quotaSliceFraction));
  q = new Quota(rule, subjectId, slice(rule.requestsPerMinute), slice(rule.tokensPerMinute));
  if (slices === undefined || subjectId === undefined) state.quotas.set(rule.id, q);
  else {
    // Subjects that stopped calling leave ended slices behind: bounded by the ones calling now
    // (swept when their number doubled, so a sweep costs O(1) a new subject).
    const held = slices.bySubject;
    if (held.size >= slices.sweepAt) {
      for (const [id, old] of held) if (now >= old.windowEnd) held.delete(id);
      slices.sweepAt = Math.max(DEFAULT_SLICES_SWEEP_AT, held.size * 2);
    }
    held.set(subjectId, q);
  }
  return q;
}

function dropQuota(state: LimitState, q: Quota): void {
  if (q.subjectId === undefined) state.quotas.delete(q.rule.id);
  else state.defaults.get(q.rule.id)?.bySubject.delete(q.subjectId);
}

function refuse(q: Quota, now: number, dialect: Dialect, reply: FastifyReply): never {
  const waitMs = Math.max(0, q.windowEnd - now);
  setHeaders(reply, dialect, [q], now);
  const what = q.requestsOut && q.requests < 1 ? "requests" : "tokens";
  throw new GatehouseError(
    "rate_limited",
    `Rate limit reached for ${what} per minute. Retry after ${Math.ceil(waitMs / 1000)} s.`,
    { retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) },
  );
}

/** What is left of a limit as this replica sees it: its slice plus what acl still held at the last lease. */
function left(slice: number, owner: number | null): number {
  return Math.max(0, Math.floor(slice) + (owner ?? 0));
}

/** `1.5s`, `59s`: how OpenAI writes a reset. */
function duration(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

function setHeaders(reply: FastifyReply, dialect: Dialect, quotas: readonly Quota[], now: number): void {
  let requests: Quota | undefined;
  let tokens: Quota | undefined;
  for (const q of quotas) {
    if (q.rule.requestsPerMinute !== null) {
      if (!requests || left(q.requests, q.ownerRequests) < left(requests.requests, requests.ownerRequests))
        requests = q;
    }
    if (q.rule.tokensPerMinute !== null) {
      if (!tokens || left(q.tokens, q.ownerTokens) < left(tokens.tokens, tokens.ownerTokens)) tokens = q;
    }
  }
  const headers: Record<string, string> = {};
  const put = (kind: "requests" | "tokens", q: Quota, limit: number, remaining: number) => {
    const resetMs = Math.max(0, q.windowEnd - now);
    if (dialect === "anthropic") {
      headers[`anthropic-ratelimit-${kind}-limit`] = String(limit);
      headers[`anthropic-ratelimit-${kind}-remaining`] = String(remaining);
      headers[`anthropic-ratelimit-${kind}-reset`] = new Date(now + resetMs).toISOString();
    } else {
      headers[`x-ratelimit-limit-${kind}`] = String(limit);
      headers[`x-ratelimit-remaining-${kind}`] = String(remaining);
      headers[`x-ratelimit-reset-${kind}`] = duration(resetMs);
    }
  };
  if (requests?.rule.requestsPerMinute)
    put(
      "requests",
      requests,
      requests.rule.requestsPerMinute,
      left(requests.requests, requests.ownerRequests),
    );
  if (tokens?.rule.tokensPerMinute)
    put("tokens", tokens, tokens.rule.tokensPerMinute, left(tokens.tokens, tokens.ownerTokens));
  reply.headers(headers);
}
