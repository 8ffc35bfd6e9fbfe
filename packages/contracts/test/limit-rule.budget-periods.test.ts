import { describe, expect, it } from "vitest";
import { budgetPeriodOf } from "../src/limit-rule.js";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe("budget periods are UTC calendar periods", () => {
  it("a day runs from 00:00 UTC to the next", () => {
    const p = budgetPeriodOf("day", at("2026-03-15T23:59:59.999Z"));
    expect([iso(p.start), iso(p.end)]).toEqual(["2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"]);
  });

  it("a week is an ISO week: Monday 00:00 UTC to the next Monday, Sunday included", () => {
    for (const day of ["2026-11-30T00:00:00.000Z", "2026-12-02T12:00:00.000Z", "2026-12-06T23:59:59.999Z"]) {
      const p = budgetPeriodOf("week", at(day));
      expect([iso(p.start), iso(p.end)]).toEqual(["2026-11-30T00:00:00.000Z", "2026-12-07T00:00:00.000Z"]);
    }
  });

  it("a month is a calendar month, across year ends and leap days", () => {
    const dec = budgetPeriodOf("month", at("2026-12-31T23:00:00.000Z"));
    expect([iso(dec.start), iso(dec.end)]).toEqual(["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    const feb = budgetPeriodOf("month", at("2028-02-29T10:00:00.000Z"));
    expect([iso(feb.start), iso(feb.end)]).toEqual(["2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"]);
  });
});
