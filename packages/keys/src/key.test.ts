import { describe, expect, it } from "vitest";
import { checksumOf, displayHint, generateKey, hashKey, parseKey, toBase62Fixed } from "./key.js";

describe("generateKey", () => {
  it("produces the documented format for both kinds", () => {
    for (const kind of ["pat", "vat"] as const) {
      const key = generateKey(kind);
      expect(key).toMatch(new RegExp(`^gatehouse_${kind}_[0-9A-Za-z]{32}_[0-9A-Za-z]{6}$`));
      expect(parseKey(key)).toEqual({ ok: true, kind });
    }
  });

  it("never repeats and uses the whole alphabet (no modulo bias shows up as missing characters)", () => {
    const keys = new Set(Array.from({ length: 2_000 }, () => generateKey("pat")));
    expect(keys.size).toBe(2_000);
    const seen = new Set([...keys].flatMap((k) => k.slice(14, 46).split("")));
    expect(seen.size).toBe(62);
  });
});

describe("parseKey", () => {
  const key = generateKey("pat");

  it("refuses a single-character typo by checksum", () => {
    const i = 20;
    const swapped = key[i] === "a" ? "b" : "a";
    const typo = key.slice(0, i) + swapped + key.slice(i + 1);
    expect(parseKey(typo)).toEqual({ ok: false, reason: "bad_checksum" });
  });

  it("refuses anything that is not the format", () => {
    for (const bad of [
      "",
      "sk-abc",
      key.replace("gatehouse_pat_", "gatehouse_xyz_"),
      key.slice(0, -1),
      `${key}x`,
      ` ${key}`,
      key.replaceAll("_", "-"),
    ]) {
      expect(parseKey(bad)).toEqual({ ok: false, reason: "malformed" });
    }
  });

  it("checks the checksum over the kind too (a pat relabelled vat fails)", () => {
    expect(parseKey(key.replace("_pat_", "_vat_"))).toEqual({ ok: false, reason: "bad_checksum" });
  });
});

describe("checksum", () => {
  it("is CRC32 in 6 zero-padded base62 digits", () => {
    expect(toBase62Fixed(0)).toBe("000000");
    expect(toBase62Fixed(61)).toBe("00000z");
    expect(toBase62Fixed(0xffffffff)).toBe("4gfFC3");
    // CRC32("123456789") = 0xCBF43926, the standard check value.
    expect(checksumOf("123456789")).toBe(toBase62Fixed(0xcbf43926));
  });
});

describe("hashKey and displayHint", () => {
  it("hashes to lowercase hex SHA-256", () => {
    expect(hashKey("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("shows a hint that does not contain the key's secret part", () => {
    const key = generateKey("vat");
    const hint = displayHint(key);
    expect(hint).toMatch(/^gatehouse_vat_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/);
    expect(hint).toBe(`gatehouse_vat_${key.slice(14, 18)}…${key.slice(-4)}`);
    expect(key.includes(hint)).toBe(false);
  });
});
