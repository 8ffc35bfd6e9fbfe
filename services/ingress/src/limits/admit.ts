import {
  aclQuotaBudgetLease,
  aclQuotaBudgetReturn,
  BUDGET_MAX_USD,
  type BudgetRule,
  type Dialect,
  GatehouseError,
  MICRO_USD,
  type RateLimitRule,
} from "@gatehouse/contracts";
import type { FastifyReply } from "fastify";
import type { ModelPrice } from "../access/catalog.js";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { type Lessor, Quota } from "./quota.js";
import { BUDGETS, RATE_LIMITS, RuleBook } from "./rules.js";

interface LimitState {
  book: RuleBook<RateLimitRule>;
  budgets: RuleBook<BudgetRule>;
  /** Slices of rules on one subject, by rule id (rate limits and budgets alike: ids are UUIDs). */
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

/** The header with what is left of the tightest budget on a call, in USD (this replica's view). */
export const BUDGET_REMAINING_HEADER = "x-gatehouse-budget-remaining-usd";

const states = new WeakMap<IngressContext, LimitState>();

function stateOf(ctx: IngressContext): LimitState {
  let state = states.get(ctx);
  if (!state) {
    const book = new RuleBook(ctx.client, ctx.feed, ctx.logger, RATE_LIMITS);
    const budgets = new RuleBook(ctx.client, ctx.feed, ctx.logger, BUDGETS);
    const quotas = new Map<string, Quota>();
    const defaults = new Map<string, DefaultSlices>();
    book.onDrop = (id) => {
      quotas.delete(id);
      defaults.delete(id);
    };
    budgets.onDrop = (id) => quotas.delete(id);
    state = { book, budgets, quotas, defaults };
    states.set(ctx, state);
  }
  return state;
}

/** Fetch the rate limits now, so the first call does not wait for them (failures are retried by calls). */
export function preloadLimits(ctx: IngressContext): void {
  const state = stateOf(ctx);
  void state.book.ready().catch(() => {});
  void state.budgets.ready().catch(() => {});
}

/** What a call was admitted with: settled with its usage when it ends. */
export interface Admission {
  quotas: Quota[];
  /** The window each quota was charged in (a slice of an ended window is not settled). */
  windows: number[];
  /** Tokens pre-charged to each rate limit. */
  estimate: number;
  /** Micro-USD pre-charged to each budget. */
  microUsd: number;
}

export interface CallTarget {
  /** Undefined for a call through a route: dispatch picks its target, so only unscoped limits apply. */
  account?: string | undefined;
  model?: string | undefined;
  /** The model's prices (none for a route, or a model without prices). */
  price?: ModelPrice | undefined;
  /** The teams whose grant allowed the call. */
  teams: readonly string[] | undefined;
}

type Rule = RateLimitRule | BudgetRule;

function applies(rule: Rule, target: CallTarget): boolean {
  return (
    (rule.account === null || rule.account === target.account) &&
    (rule.model === null || rule.model === target.model)
  );
}

/** A rule that applies to a call, and for a default rate limit the subject it counts the call for. */
interface Applied {
  rule: Rule;
  subjectId: string | undefined;
}

const sameScope = (a: Rule, b: Rule) => a.account === b.account && a.model === b.model;

/**
 * The rules of `book` on the caller and on the teams whose grant allowed the call, whose scope
 * matches it; and each default of the subject's kind unless the subject has a rule of its own with
 * the default's scope (which replaces it). Added to `found` (rate limits first, then budgets).
 */
function applicable(
  book: RuleBook<RateLimitRule> | RuleBook<BudgetRule>,
  caller: Caller,
  target: CallTarget,
  found?: Applied[],
): Applied[] | undefined {
  if (book.size === 0) return found;
  const push = (applied: Applied) => {
    if (found === undefined) found = [applied];
    else found.push(applied);
  };
  const add = (kind: string, id: string) => {
    const own: readonly Rule[] | undefined = book.of(kind, id);
    if (own !== undefined) {
      for (const rule of own) {
        if (!applies(rule, target)) continue;
        push({ rule, subjectId: undefined });
      }
    }
    const defaults: readonly Rule[] | undefined = book.defaultsOf(kind);
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

/** OpenAI's most choices a call may ask for (`n`; legacy completions' `best_of`, all of them billed). */
const MAX_CHOICES = 128;

/**
 * How many prompts a legacy completion carries: an array of strings or of token arrays is a batch,
 * each answered with its own choices (an array of numbers is one prompt as tokens). The cap keeps
 * the product finite (the body's size bounds it anyway).
 */
function promptsOf(prompt: unknown): number {
  if (!Array.isArray(prompt) || !prompt.some((p) => typeof p === "string" || Array.isArray(p))) return 1;
  return Math.min(Math.max(prompt.length, 1), 100_000);
}

/**
 * The most a call may generate, as its body says (0 when it says nothing): its most tokens per
 * choice times the choices it asks for (`n`, `best_of`), since each choice may reach max_tokens.
 */
function mostTokens(body: unknown): number {
  let most = 0;
  let choices = 1;
  if (body !== null && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const field of ["max_tokens", "max_completion_tokens", "max_output_tokens"]) {
      const v = b[field];
      if (typeof v === "number" && Number.isFinite(v) && v > 0)
        most = Math.max(most, Math.min(v, 10_000_000));
    }
    for (const field of ["n", "best_of"]) {
      const v = b[field];
      if (typeof v === "number" && Number.isFinite(v) && v > 1)
        choices = Math.max(choices, Math.min(Math.ceil(v), MAX_CHOICES));
    }
    choices *= promptsOf(b.prompt);
  }
  return Math.floor(most) * choices;
}

/** Tokens a call is pre-charged: the prompt at ~4 bytes a token, plus the most it may generate. */
export function estimateTokens(bodyBytes: number, body: unknown): number {
  return Math.ceil(bodyBytes / 4) + mostTokens(body);
}

/**
 * Micro-USD a call is pre-charged against a budget: the prompt at ~4 bytes a token times the
 * input price, plus the most it may generate times the output price (prices are USD per million
 * tokens, so a token costs `price` micro-USD). At least 1, so a spent budget refuses every call.
 */
export function estimateMicroUsd(bodyBytes: number, body: unknown, price: ModelPrice | undefined): number {
  if (price === undefined) return 1;
  return Math.max(1, Math.ceil(Math.ceil(bodyBytes / 4) * price.input + mostTokens(body) * price.output));
}

const isBudget = (rule: Rule): rule is BudgetRule => "maxUsd" in rule;

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
  if (state.book.isLoaded && state.budgets.isLoaded) {
    if (state.book.size === 0 && state.budgets.size === 0) return undefined;
    const rules = applicable(state.budgets, caller, target, applicable(state.book, caller, target));
    if (rules === undefined) return undefined;
    return admitUnder(ctx, state, rules, target, body, bodyBytes, dialect, reply);
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
  await Promise.all([state.book.ready(), state.budgets.ready()]);
  const rules = applicable(state.budgets, caller, target, applicable(state.book, caller, target));
  if (rules === undefined) return undefined;
  return admitUnder(ctx, state, rules, target, body, bodyBytes, dialect, reply);
}

/** Admitted from the slices held (no promise) when they all have room: the common case. */
function admitUnder(
  ctx: IngressContext,
  state: LimitState,
  rules: Applied[],
  target: CallTarget,
  body: unknown,
  bodyBytes: number,
  dialect: Dialect,
  reply: FastifyReply,
): Admission | Promise<Admission> {
  const pre: Precharge = { estimate: 0, microUsd: 0 };
  for (const { rule } of rules) {
    if (isBudget(rule)) pre.microUsd ||= estimateMicroUsd(bodyBytes, body, target.price);
    else if (rule.tokensPerMinute !== null) pre.estimate ||= estimateTokens(bodyBytes, body);
  }
  const now = Date.now();
  const quotas: Quota[] = [];
  let roomy = true;
  for (const { rule, subjectId } of rules) {
    const q = quotaFor(ctx, state, rule, subjectId, now);
    q.roll(now);
    if (roomy && !q.fits(now, chargeOf(q, pre))) roomy = false;
    quotas.push(q);
  }
  if (roomy) return charge(ctx, quotas, undefined, pre, dialect, reply, now);
  return admitAfterLeases(ctx, state, quotas, pre, dialect, reply);
}

/** What a call is pre-charged: tokens to each rate limit, micro-USD to each budget. */
interface Precharge {
  estimate: number;
  microUsd: number;
}

/** Budgets' slices are the ones with their own lessor (see quotaFor). */
const budgetQuotas = new WeakSet<Quota>();
const chargeOf = (q: Quota, pre: Precharge) => (budgetQuotas.has(q) ? pre.microUsd : pre.estimate);

/** Some slice is empty: lease (waiting), then admit, or refuse once acl says the window is spent. */
async function admitAfterLeases(
  ctx: IngressContext,
  state: LimitState,
  quotas: Quota[],
  pre: Precharge,
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
      if (!open.has(q) && !q.fits(now, chargeOf(q, pre))) {
        missing = q;
        break;
      }
    }
    if (missing === undefined) return charge(ctx, quotas, open, pre, dialect, reply, now);
    const estimate = chargeOf(missing, pre);
    if (beyondBudget(missing, estimate)) refuseBeyond(missing, estimate, now, dialect, reply);
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
  pre: Precharge,
  dialect: Dialect,
  reply: FastifyReply,
  now: number,
): Admission {
  const windows: number[] = [];
  for (const q of quotas) {
    if (open === undefined || !open.has(q)) q.take(chargeOf(q, pre));
    windows.push(q.windowEnd);
    if (q.wantsTopUp()) void q.refill(ctx.client, 0, Date.now).catch(() => {});
  }
  setHeaders(reply, dialect, quotas, now);
  return { quotas, windows, estimate: pre.estimate, microUsd: pre.microUsd };
}

/**
 * When the call ended with usage: charge its real token count instead of the estimate. A call that
 * ends without usage (an error, a client that left) keeps its estimate charged.
 */
export function settle(admission: Admission | undefined, usageJson: string | Buffer | undefined): void {
  if (admission === undefined || (admission.estimate === 0 && admission.microUsd === 0)) return;
  if (usageJson === undefined || usageJson.length === 0) return;
  let tokens: number | undefined;
  let microUsd: number | undefined;
  try {
    const usage = JSON.parse(usageJson.toString()) as { totalTokens?: unknown; costUsd?: unknown };
    if (typeof usage.totalTokens === "number" && usage.totalTokens >= 0) tokens = usage.totalTokens;
    // dispatch prices the call (withCost); a model without prices keeps its pre-charge.
    if (typeof usage.costUsd === "number" && usage.costUsd >= 0) microUsd = usage.costUsd * MICRO_USD;
  } catch {
    return;
  }
  admission.quotas.forEach((q, i) => {
    const budget = budgetQuotas.has(q);
    const actual = budget ? microUsd : tokens;
    if (actual === undefined) return;
    q.settle(budget ? admission.microUsd : admission.estimate, actual, admission.windows[i] ?? 0);
  });
}

/** A budget's lease, as a slice of "tokens" (micro-USD) in a window (its period). */
const leaseBudget: Lessor = async (client, id, _subjectId, want) => {
  const answer = await client.request(aclQuotaBudgetLease, { budgetId: id, microUsd: want.tokens });
  return {
    found: answer.found,
    // An acl older than `quota.budget_return` does not name the period: nothing is given back.
    windowStart: answer.periodStart ?? 0,
    resetMs: answer.resetMs,
    requests: 0,
    tokens: answer.microUsd,
    remainingRequests: null,
    remainingTokens: answer.remainingMicroUsd,
  };
};

/** How long a stopping replica spends giving its budget slices back, in all. */
export const BUDGET_RETURN_MS = 1_000;

/**
 * On a graceful stop, once the calls in flight ended (their pre-charges settled): give acl back
 * what each budget slice still holds of its current period (`quota.budget_return`), so the
 * replicas that stay or replace this one can lease it. All at once, bounded by `timeoutMs`; what
 * could not be returned is logged (one line) and lost, as the whole slice is when a replica crashes.
 */
export async function returnBudgetSlices(ctx: IngressContext, timeoutMs = BUDGET_RETURN_MS): Promise<void> {
  const state = states.get(ctx);
  if (state === undefined) return;
  const deadline = Date.now() + timeoutMs;
  const done = { asked: 0, returned: 0, microUsd: 0, lostMicroUsd: 0, err: undefined as unknown };
  const giveBack = async (q: Quota) => {
    // A top-up in flight: what it grants is part of the slice.
    await q.idle();
    const microUsd = Math.floor(q.tokens);
    const left = deadline - Date.now();
    if (microUsd <= 0 || q.windowStart === 0 || Date.now() >= q.windowEnd || left <= 0) return;
    // Whatever acl answers, this replica spends none of it any more.
    q.tokens -= microUsd;
    done.asked++;
    done.lostMicroUsd += microUsd;
    try {
      const answer = await ctx.client.request(
        aclQuotaBudgetReturn,
        { budgetId: q.rule.id, periodStart: q.windowStart, microUsd },
        { timeoutMs: left },
      );
      done.returned++;
      done.microUsd += answer.microUsd;
      done.lostMicroUsd -= microUsd;
    } catch (err) {
      done.err ??= err;
    }
  };
  const slices = [...state.quotas.values()].filter((q) => budgetQuotas.has(q));
  if (slices.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(slices.map(giveBack)),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const { err, ...counts } = done;
  if (counts.asked === 0) return;
  if (counts.returned < counts.asked)
    ctx.logger.warn({ err, ...counts }, "could not return every budget slice");
  else ctx.logger.info(counts, "budget slices returned");
}

function quotaFor(
  ctx: IngressContext,
  state: LimitState,
  rule: Rule,
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
  if (q !== undefined && q.source === rule) return q;
  const slice = (n: number | null) =>
    n === null ? 0 : Math.max(1, Math.ceil(n * ctx.config.quotaSliceFraction));
  if (isBudget(rule)) {
    const max = Math.round(rule.maxUsd * MICRO_USD);
    const counts = { id: rule.id, requestsPerMinute: null, tokensPerMinute: max, failOpen: rule.failOpen };
    q = new Quota(counts, undefined, 0, slice(max), rule, leaseBudget, "budgets");
    q.maxAsk = BUDGET_MAX_USD * MICRO_USD;
    budgetQuotas.add(q);
  } else {
    q = new Quota(rule, subjectId, slice(rule.requestsPerMinute), slice(rule.tokensPerMinute));
  }
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

/**
 * Whether a call's pre-charge is more than its budget could still give, however much this replica
 * leased: its whole maximum, or what it holds plus what acl said is left (only ever less within a
 * period). Leasing for it would take the rest of the period's budget into this replica's slice,
 * where other replicas cannot use it, and still refuse the call.
 */
function beyondBudget(q: Quota, estimate: number): boolean {
  if (!budgetQuotas.has(q)) return false;
  if (estimate > (q.rule.tokensPerMinute ?? 0)) return true;
  return q.ownerTokens !== null && estimate > Math.max(0, q.tokens) + q.ownerTokens;
}

function refuseBeyond(q: Quota, estimate: number, now: number, dialect: Dialect, reply: FastifyReply): never {
  setHeaders(reply, dialect, [q], now);
  throw new GatehouseError(
    "insufficient_quota",
    `This call may cost up to $${(estimate / MICRO_USD).toFixed(6)} (its prompt and max_tokens at the ` +
      "model's prices), more than its budget has left for this period; lower max_tokens.",
  );
}

function refuse(q: Quota, now: number, dialect: Dialect, reply: FastifyReply): never {
  if (budgetQuotas.has(q)) {
    setHeaders(reply, dialect, [q], now);
    throw new GatehouseError(
      "insufficient_quota",
      `Budget exhausted for this period; it resets at ${new Date(q.windowEnd).toISOString()}.`,
    );
  }
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
  let budget: Quota | undefined;
  for (const q of quotas) {
    if (budgetQuotas.has(q)) {
      if (!budget || left(q.tokens, q.ownerTokens) < left(budget.tokens, budget.ownerTokens)) budget = q;
      continue;
    }
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
  if (budget)
    headers[BUDGET_REMAINING_HEADER] = (left(budget.tokens, budget.ownerTokens) / MICRO_USD).toFixed(6);
  reply.headers(headers);
}
