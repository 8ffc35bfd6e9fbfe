import { describe, expect, it } from "vitest";
import { acceptsCsv } from "./http.js";

describe("Accept negotiation of an export", () => {
  it.each([
    ["text/csv", true],
    ["TEXT/CSV; charset=utf-8", true],
    ["application/json, text/csv", true],
    ["text/csv;q=0.9, application/json;q=0.5", true],
    [undefined, false],
    ["*/*", false],
    ["application/json", false],
    ["text/csvx", false],
    // q=0 is "not acceptable" (RFC 9110 §12.4.2): never CSV for it.
    ["text/csv;q=0", false],
    ["text/csv; q=0.0, application/json", false],
    // JSON preferred by weight.
    ["text/csv;q=0.1, application/json", false],
  ])("Accept %s → CSV %s", (accept, csv) => {
    expect(acceptsCsv(accept)).toBe(csv);
  });
});
