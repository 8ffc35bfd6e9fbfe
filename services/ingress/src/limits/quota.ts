import type { BusClient } from "@gatehouse/bus";
import { aclQuotaLease, GatehouseError, type LeaseResponse } from "@gatehouse/contracts";

/** How long a replica answers from "acl unreachable" before it asks again. */
const UNREACHABLE_BACKOFF_MS = 1_000;
/** How long a slice believes acl's "nothing left in this window" before asking again. */
export const OUT_RECHECK_MS = 5_000;

/** What a slice lease ended in. `open`: acl could not be asked and the limit is fail-open. */
export type Refill = "granted" | "exhausted" | "open" | "gone";

/**
 * What a slice counts: requests and/or "tokens" per window. A budget is one with tokens only, in
 * micro-USD per period (its window), leased through its own endpoint.
 */
export interface QuotaRule {
  readonly id: string;
  readonly requestsPerMinute: number | null;
  readonly tokensPerMinute: number | null;
  readonly failOpen: boolean;
}

/**
 * Asks acl for a slice: up to `requests` and `tokens` more of the rule's current window (the
 * subject's own window, for a default rate limit).
 */
export type Lessor = (
  client: BusClient,
  id: string,
  subjectId: string | undefined,
  want: { requests: number; tokens: number },
) => Promise<LeaseResponse>;

const leaseRateLimit: Lessor = (client, id, subjectId, want) =>
  client.request(aclQuotaLease, {
    limitId: id,
    ...(subjectId === undefined ? {} : { subjectId }),
    ...want,
  });

/**
 * This replica's slice of one rate limit's current minute window (docs/governance.md): requests
 * and tokens acl handed out to it, spent by admitted calls without any message. `tokens` may go
 * below zero when calls used more than their pre-charge; that debt is asked for with the next slice.
 */
export class Quota {
  requests = 0;
  tokens = 0;
  /** Local time at which the window (and everything left in the slice) ends. */
  windowEnd = 0;
  /** The window's start as acl named it (0: not named), what a slice given back names. */
  windowStart = 0;
  /** What acl said the window still held after the last grant (this replica's view). */
  ownerRequests: number | null = null;
  ownerTokens: number | null = null;
  /** acl had nothing more to give in this window (as of `outAt`). */
  requestsOut = false;
  tokensOut = false;
  /**
   * When acl last said so. After OUT_RECHECK_MS the slice asks again (one lease, shared by the calls
   * waiting): a budget's period lasts up to a month, and what other replicas give back (a graceful
   * stop) or a raised ceiling would otherwise never reach a replica that was refused once.
   */
  private outAt = 0;
  /** What was out before a recheck cleared it: restored if acl cannot be asked (still a 429, not a 503). */
  private recheck: { requests: boolean; tokens: boolean } | undefined;
  private pending: Promise<Refill> | undefined;
  /** Calls waiting for the next slice: a lease asks for at least one request each. */
  private waiting = 0;
  /** After acl could not be asked, calls do not ask again (each would wait for a timeout) until then. */
  private downUntil = 0;

  constructor(
    readonly rule: QuotaRule,
    /** The subject a default limit counts in this slice (each has windows of its own). */
    readonly subjectId: string | undefined,
    private readonly sliceRequests: number,
    private readonly sliceTokens: number,
    /** The rule object of the book this slice is for: a changed rule gets a new slice. */
    readonly source: object = rule,
    private readonly ask: Lessor = leaseRateLimit,
    /** What the owner could not be asked about, for the 503's message. */
    private readonly what = "rate limits",
  ) {}

  /** Start a new window's empty slice once the last one ended. */
  roll(now: number): void {
    if (now >= this.windowEnd) this.clear();
    else if ((this.requestsOut || this.tokensOut) && now - this.outAt >= OUT_RECHECK_MS) {
      this.recheck = { requests: this.requestsOut, tokens: this.tokensOut };
      this.requestsOut = false;
      this.tokensOut = false;
    }
  }

  private clear(): void {
    this.recheck = undefined;
    this.requests = 0;
    this.tokens = 0;
    this.requestsOut = false;
    this.tokensOut = false;
    this.ownerRequests = null;
    this.ownerTokens = null;
  }

  /** The most one lease may ask for. */
  maxAsk = 2_000_000_000;

  /** Whether a call pre-charged `estimate` tokens fits in the slice as it is now. */
  fits(now: number, estimate: number): boolean {
    if (now >= this.windowEnd) return false;
    if (this.rule.requestsPerMinute !== null && this.requests < 1) return false;
    if (this.rule.tokensPerMinute !== null && this.tokens < estimate) return false;
    return true;
  }

  /** Whether asking again can help: false once acl said the window is spent for what is missing. */
  refusable(estimate: number): boolean {
    const r = this.rule.requestsPerMinute !== null && this.requests < 1 && this.requestsOut;
    const t = this.rule.tokensPerMinute !== null && this.tokens < estimate && this.tokensOut;
    return r || t;
  }

  take(estimate: number): void {
    if (this.rule.requestsPerMinute !== null) this.requests -= 1;
    if (this.rule.tokensPerMinute !== null) this.tokens -= estimate;
  }

  /** After the call: charge what it really used instead of its estimate (a refund or a debt). */
  settle(estimate: number, actual: number, windowEnd: number): void {
    // A slice of a window that has ended is gone; its calls' differences go with it.
    if (this.rule.tokensPerMinute === null || windowEnd !== this.windowEnd) return;
    this.tokens += estimate - actual;
  }

  /** Running low: fetch the next slice before a call has to wait for it. */
  wantsTopUp(): boolean {
    if (this.pending) return false;
    const r =
      this.rule.requestsPerMinute !== null && !this.requestsOut && this.requests * 2 < this.sliceRequests;
    const t = this.rule.tokensPerMinute !== null && !this.tokensOut && this.tokens * 2 < this.sliceTokens;
    return r || t;
  }

  /** Resolves once no lease is in flight (what it grants is then in the slice). */
  async idle(): Promise<void> {
    await this.pending?.catch(() => {});
  }

  /** One lease at a time; concurrent callers share it. */
  async refill(client: BusClient, estimate: number, now: () => number): Promise<Refill> {
    if (now() < this.downUntil) return this.unreachable("recently unreachable");
    this.waiting++;
    try {
      this.pending ??= this.lease(client, estimate, now).finally(() => {
        this.pending = undefined;
      });
      return await this.pending;
    } finally {
      this.waiting--;
    }
  }

  private unreachable(code: string): Refill {
    if (this.rule.failOpen) return "open";
    throw new GatehouseError(
      "service_unavailable",
      `${this.what} cannot be checked right now; retry shortly`,
      {
        detail: `acl quota lease failed: ${code}`,
        retryAfterSeconds: 1,
      },
    );
  }

  private async lease(client: BusClient, estimate: number, now: () => number): Promise<Refill> {
    const { requestsPerMinute: rpm, tokensPerMinute: tpm } = this.rule;
    const wantRequests =
      rpm === null || this.requestsOut ? 0 : Math.max(this.waiting, this.sliceRequests - this.requests, 1);
    const wantTokens =
      tpm === null || this.tokensOut ? 0 : Math.max(this.sliceTokens, estimate) - Math.min(0, this.tokens);
    const asked = now();
    let answer: LeaseResponse;
    try {
      answer = await this.ask(client, this.rule.id, this.subjectId, {
        requests: wantRequests,
        tokens: Math.ceil(Math.min(wantTokens, this.maxAsk)),
      });
    } catch (err) {
      const recheck = this.recheck;
      if (recheck !== undefined) {
        // acl said this window was spent and cannot be asked whether anything came back since:
        // what it said stands (a 429, as before the recheck), and the next recheck is in 5 s.
        this.recheck = undefined;
        this.requestsOut = recheck.requests;
        this.tokensOut = recheck.tokens;
        this.outAt = now();
        return "exhausted";
      }
      this.downUntil = now() + UNREACHABLE_BACKOFF_MS;
      return this.unreachable(err instanceof GatehouseError ? err.code : "service_unavailable");
    }
    this.downUntil = 0;
    this.recheck = undefined;
    if (!answer.found) return "gone";
    // The window is acl's; it ends `resetMs` after we asked, by our clock.
    const windowEnd = asked + answer.resetMs;
    if (windowEnd > this.windowEnd + 1_000 || now() >= this.windowEnd) {
      // A new window: what was left of the last one is gone.
      this.clear();
      this.windowEnd = windowEnd;
      this.windowStart = answer.windowStart;
    }
    this.requests += answer.requests;
    this.tokens += answer.tokens;
    this.ownerRequests = answer.remainingRequests;
    this.ownerTokens = answer.remainingTokens;
    if (rpm !== null && answer.requests < wantRequests) this.requestsOut = true;
    if (tpm !== null && answer.tokens < wantTokens) this.tokensOut = true;
    if (this.requestsOut || this.tokensOut) this.outAt = now();
    return this.fits(now(), estimate) ? "granted" : "exhausted";
  }
}
