import { GatehouseError } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { decodePosition, encodeCursor, encodePosition } from "../src/paging.js";

const ID = "0b9f6f3e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";

describe("keyset cursors a caller made up", () => {
  it("round-trips a cursor this API issued", () => {
    const at = new Date("2026-11-30T02:41:07.512Z");
    expect(decodePosition(encodePosition({ at, id: ID }))).toEqual({ at, id: ID });
  });

  it("refuses a position past year 9999 as a bad field, not a database error", () => {
    // 999999999999999 ms is year 33658: its ISO text (+033658-…) is no timestamp Postgres reads.
    for (const ms of ["999999999999999", "253402300800000"]) {
      const cursor = encodeCursor(`${ms}.${ID}`);
      expect(() => decodePosition(cursor)).toThrow(GatehouseError);
      try {
        decodePosition(cursor);
      } catch (err) {
        expect((err as GatehouseError).code).toBe("validation_failed");
      }
    }
    expect(decodePosition(encodeCursor(`253402300799999.${ID}`))?.at.toISOString()).toBe(
      "9999-12-31T23:59:59.999Z",
    );
  });
});
