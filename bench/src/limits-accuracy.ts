/**
 * What `pnpm bench:limits` measures and how it reads the answers: a list of scenarios (one limit
 * each, on an app of its own), the window each admitted call fell in, and per window admitted vs
 * allowed against the bound docs/governance.md states. No I/O here (limits-accuracy-main.ts runs it).
 *
 * A scenario is a few lines: how to create its limit, the call it sends, what one admitted call
 * counts, the window it fell in, and the formula's bound. The budget (dollars per day) is one:
 * its `create` posts the budget, `counts` prices the call's usage and `windowOf` names the UTC day.
 */
import type { AdminClient } from "./admin.js";
import { table } from "./report.js";

/** One call as the load saw it. */
export interface CallRecord {
  status: number;
  /** Local time the request was sent (ms since the epoch). */
  sentAt: number;
  /** Response headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** `usage.total_tokens` of an answered call. */
  totalTokens: number | undefined;
}

export interface Bound {
  /** How far a window may be exceeded (the formula's overshoot). */
  over: number;
  /** How much may stay unadmitted in slices the replicas hold when the load stops. */
  under: number;
  /** The formula with its numbers, for the table. */
  formula: string;
}

export interface Scenario {
  key: string;
  /** E.g. `600 requests/min`. */
  label: string;
  unit: string;
  /** The request body every call of the scenario sends. */
  body: string;
  /** Concurrent connections, spread over the replicas. */
  connections: number;
  /** Creates the limit on the scenario's virtual account. */
  create(admin: AdminClient, virtualAccountId: string): Promise<unknown>;
  /** What a window allows. */
  allowed: number;
  windowMs: number;
  /** The start of the window a call was admitted (or refused) in; undefined when it cannot tell. */
  windowOf(call: CallRecord): number | undefined;
  /** What an admitted call counts against the limit. */
  counts(call: CallRecord): number;
  bound: Bound;
  /**
   * The load spends the whole allowance well inside the run (a budget's day): a window in which
   * calls were refused is judged from below as well, as a whole one is.
   */
  spentInRun?: boolean;
  /** How amounts of the unit are written (default: whole numbers). */
  format?: (v: number) => string;
}

/** `12.3s` (OpenAI's reset duration) in ms; undefined when absent or malformed. */
export function resetMs(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const m = v === undefined ? null : /^(\d+(?:\.\d+)?)s$/.exec(v);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/**
 * A minute window from the reset header a replica sent: it ends `reset` after the call was
 * admitted, which is between sending and the answer; the nearest window end to `sentAt + reset`
 * names it as long as a call takes less than half a window.
 */
export function windowFromReset(call: CallRecord, header: string, windowMs: number): number | undefined {
  const reset = resetMs(call.headers[header]);
  if (reset === undefined) return undefined;
  return Math.round((call.sentAt + reset) / windowMs) * windowMs - windowMs;
}

export interface WindowRow {
  scenario: Scenario;
  windowStart: number;
  /** Seconds of the window the load covered; `full` when all of it. */
  coveredMs: number;
  full: boolean;
  admitted: number;
  admittedCalls: number;
  refused: number;
  /** Answers other than 200 and 429 (e.g. 503), and admitted calls whose window was not told. */
  other: number;
  within: boolean;
}

/** Within 2 % of the allowance plus the bound: above always; below only over a window the load covered whole. */
export function withinTarget(
  admitted: number,
  allowed: number,
  bound: Bound,
  full: boolean,
  tolerance = 0.02,
): boolean {
  const slack = allowed * tolerance;
  if (admitted > allowed + bound.over + slack) return false;
  return !full || admitted >= allowed - bound.under - slack;
}

const FULL_WITHIN_MS = 1_000;

/** Per scenario and window: admitted, refused, and whether it is within the target. */
export function tally(
  scenario: Scenario,
  calls: readonly CallRecord[],
  runStart: number,
  runEnd: number,
): WindowRow[] {
  const rows = new Map<number, WindowRow>();
  let untold = 0;
  const rowOf = (start: number): WindowRow => {
    let row = rows.get(start);
    if (row === undefined) {
      const end = start + scenario.windowMs;
      const coveredMs = Math.max(0, Math.min(end, runEnd) - Math.max(start, runStart));
      row = {
        scenario,
        windowStart: start,
        coveredMs,
        // The load starts on a boundary, a few ms late at most: within a second counts as whole.
        full: coveredMs >= scenario.windowMs - FULL_WITHIN_MS,
        admitted: 0,
        admittedCalls: 0,
        refused: 0,
        other: 0,
        within: true,
      };
      rows.set(start, row);
    }
    return row;
  };
  for (const call of calls) {
    const start = scenario.windowOf(call);
    if (call.status === 200) {
      if (start === undefined) untold++;
      else {
        const row = rowOf(start);
        row.admitted += scenario.counts(call);
        row.admittedCalls++;
      }
    } else if (call.status === 429 && start !== undefined) rowOf(start).refused++;
    else rowOf(start ?? Math.floor(call.sentAt / scenario.windowMs) * scenario.windowMs).other++;
  }
  const sorted = [...rows.values()].sort((a, b) => a.windowStart - b.windowStart);
  for (const row of sorted) {
    if (scenario.spentInRun && row.refused > 0) row.full = true;
    row.within = withinTarget(row.admitted, scenario.allowed, scenario.bound, row.full);
  }
  // An admitted call no header placed cannot be checked: it counts against the first window.
  if (untold > 0 && sorted[0]) {
    sorted[0].other += untold;
    sorted[0].within = false;
  }
  return sorted;
}

const n = (v: number) => Math.round(v).toLocaleString("en-US");
const signed = (v: number, format = n) => `${v >= 0 ? "+" : "−"}${format(Math.abs(v))}`;
const pct = (v: number, of: number) => `${v >= 0 ? "+" : "−"}${((Math.abs(v) / of) * 100).toFixed(1)} %`;
const utc = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** Dollars to a hundredth of a cent (the bound's terms are cents). */
export const usd = (v: number) =>
  `$${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;

export function renderTable(rows: readonly WindowRow[]): string {
  return table(
    [
      "limit",
      "window (UTC)",
      "load",
      "admitted",
      "allowed",
      "admitted − allowed",
      "bound: over / under",
      "calls admitted / refused / other",
      "within 2 % + bound",
    ],
    rows.map((r) => {
      const f = r.scenario.format ?? n;
      return [
        r.scenario.label,
        r.scenario.windowMs === DAY ? day(r.windowStart) : utc(r.windowStart),
        r.full
          ? r.scenario.spentInRun
            ? "until spent"
            : "whole window"
          : `${Math.round(r.coveredMs / 1000)} s of it`,
        `${f(r.admitted)}${r.scenario.unit === "" ? "" : ` ${r.scenario.unit}`}`,
        f(r.scenario.allowed),
        `${signed(r.admitted - r.scenario.allowed, f)} (${pct(r.admitted - r.scenario.allowed, r.scenario.allowed)})`,
        `+${f(r.scenario.bound.over)} / −${f(r.scenario.bound.under)}`,
        `${n(r.admittedCalls)} / ${n(r.refused)} / ${n(r.other)}`,
        r.within ? (r.full ? "yes" : "yes (above only: partial window)") : "**no**",
      ];
    }),
  );
}

export interface ScenarioSettings {
  replicas: number;
  /** QUOTA_SLICE_FRACTION of the replicas. */
  sliceFraction: number;
  connections: number;
  /** The model answering with a known usage, and that usage. */
  usageModel: string;
  usageTokens: number;
  /** Tokens a call is pre-charged (ingress's estimate for the body). */
  estimate: (body: string) => number;
  /** Micro-USD a call to the usage model is pre-charged against a budget (ingress's estimate). */
  estimateMicroUsd: (body: string) => number;
  /** The usage model's price, USD per million tokens (input and output alike). */
  usdPerMTok: number;
  /** What the budget allows a day, USD. */
  budgetUsd: number;
  /** Creates a budget on a virtual account (the admin API). */
  createBudget(
    admin: AdminClient,
    virtualAccountId: string,
    budget: { max_usd: number; period: "day" },
  ): Promise<unknown>;
  /** Creates a rate limit on a virtual account (the admin API). */
  createRateLimit(
    admin: AdminClient,
    virtualAccountId: string,
    limit: { requests_per_minute?: number; tokens_per_minute?: number },
  ): Promise<unknown>;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A per-minute rate limit of one kind (`requests` or `tokens`) on the scenario's app. */
function perMinute(
  s: ScenarioSettings,
  unit: "requests" | "tokens",
  max: number,
  body: string,
  counts: (call: CallRecord) => number,
  over: { amount: number; formula: string },
): Scenario {
  const slice = Math.max(1, Math.ceil(max * s.sliceFraction));
  return {
    key: unit,
    label: `${n(max)} ${unit}/min`,
    unit,
    body,
    connections: s.connections,
    create: (admin, va) => s.createRateLimit(admin, va, { [`${unit}_per_minute`]: max }),
    allowed: max,
    windowMs: MINUTE,
    windowOf: (call) => windowFromReset(call, `x-ratelimit-reset-${unit}`, MINUTE),
    counts,
    bound: {
      over: over.amount,
      under: s.replicas * slice,
      formula: `over ${over.formula}; under R × s = ${s.replicas} × ${n(slice)}`,
    },
  };
}

/**
 * A budget of `budgetUsd` a UTC day on the scenario's app, spent by calls to the usage model (known
 * usage at a known price) without `max_tokens`: each is pre-charged its prompt's estimate and costs
 * far more, the worst case of the dollars bound's in-flight term, as for tokens. What an admitted
 * call counts is its usage at the model's price, as dispatch prices its usage record.
 */
function dollarsPerDay(s: ScenarioSettings, body: string): Scenario {
  const max = s.budgetUsd;
  const cost = (s.usageTokens * s.usdPerMTok) / 1e6;
  const estimate = s.estimateMicroUsd(body) / 1e6;
  const overrun = Math.max(0, cost - estimate);
  const slice = Math.ceil(max * 1e6 * s.sliceFraction) / 1e6;
  return {
    key: "dollars",
    label: `${usd(max)}/day budget`,
    unit: "",
    body,
    connections: s.connections,
    create: (admin, va) => s.createBudget(admin, va, { max_usd: max, period: "day" }),
    allowed: max,
    windowMs: DAY,
    windowOf: (call) => Math.floor(call.sentAt / DAY) * DAY,
    counts: (call) => ((call.totalTokens ?? 0) * s.usdPerMTok) / 1e6,
    bound: {
      over: s.connections * overrun,
      // Slices held unused when the load stopped, and the debts of the calls in flight then.
      under: s.replicas * slice + s.connections * overrun,
      formula:
        `over Σ in flight (cost − estimate) ≤ ${s.connections} connections × (${usd(cost)} − ${usd(estimate)}); ` +
        `under R × s + debts in flight = ${s.replicas} × ${usd(slice)} + ${s.connections} × ${usd(overrun)}`,
    },
    spentInRun: true,
    format: usd,
  };
}

/**
 * The scenarios: requests against a 600/min limit, tokens against a tokens-per-minute limit,
 * dollars against a budget per day.
 */
export function scenarios(s: ScenarioSettings, requestModel: string): Scenario[] {
  const requestsBody = JSON.stringify({
    model: requestModel,
    messages: [{ role: "user", content: "Say hello." }],
    max_tokens: 16,
  });
  // No max_tokens: the pre-charge is the prompt's ~4 bytes a token, far below the answer's usage,
  // so every call in flight when the window runs out overruns it (the bound's in-flight term).
  const tokensBody = JSON.stringify({
    model: s.usageModel,
    messages: [{ role: "user", content: "Say hello." }],
  });
  const estimate = s.estimate(tokensBody);
  const overrun = Math.max(0, s.usageTokens - estimate);
  return [
    perMinute(s, "requests", 600, requestsBody, () => 1, {
      amount: 0,
      formula: "0 (acl never hands out more than the limit)",
    }),
    perMinute(s, "tokens", 60_000, tokensBody, (call) => call.totalTokens ?? 0, {
      amount: s.connections * overrun,
      formula: `Σ in flight (actual − estimate) ≤ ${s.connections} connections × (${s.usageTokens} − ${estimate})`,
    }),
    dollarsPerDay(s, tokensBody),
  ];
}
