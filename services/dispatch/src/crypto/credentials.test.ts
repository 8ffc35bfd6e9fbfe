import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openCredentials, sealCredentials } from "./credentials.js";

const key = randomBytes(32);
const id = randomUUID();
const creds = { apiKey: "sk-test-secret-value" };

describe("provider credentials at rest", () => {
  it("round-trips and never contains the plaintext", () => {
    const sealed = sealCredentials(key, id, creds);
    expect(sealed).not.toContain("sk-test");
    expect(openCredentials(key, id, sealed)).toEqual(creds);
  });

  it("refuses a ciphertext moved to another account (wrong AAD)", () => {
    const sealed = sealCredentials(key, id, creds);
    expect(() => openCredentials(key, randomUUID(), sealed)).toThrow(/cannot be read/);
  });

  it("refuses the wrong master key without leaking the plaintext in the error", () => {
    const sealed = sealCredentials(key, id, creds);
    try {
      openCredentials(randomBytes(32), id, sealed);
      expect.unreachable();
    } catch (err) {
      const e = err as { message: string; detail?: string };
      expect(`${e.message} ${e.detail}`).not.toContain("sk-test");
      expect(e.detail).toContain(id);
    }
  });

  it("refuses a malformed ciphertext", () => {
    expect(() => openCredentials(key, id, "v0.a.b.c")).toThrow(/cannot be read/);
    expect(() => openCredentials(key, id, "garbage")).toThrow(/cannot be read/);
  });
});
