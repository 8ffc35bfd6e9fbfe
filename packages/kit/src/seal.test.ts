import { createCipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SealError, seal, unseal } from "./seal.js";

const key = randomBytes(32);
const aad = Buffer.from("row-1");

describe("sealed secrets at rest", () => {
  it("round-trips, with a fresh IV each time and no plaintext in the sealed text", () => {
    const a = seal(key, aad, "whsec_secret-value");
    expect(a).not.toContain("secret-value");
    expect(a).not.toEqual(seal(key, aad, "whsec_secret-value"));
    expect(unseal(key, aad, a)).toBe("whsec_secret-value");
  });

  it("refuses another row's AAD and another key", () => {
    const sealed = seal(key, aad, "s");
    expect(() => unseal(key, Buffer.from("row-2"), sealed)).toThrow(SealError);
    expect(() => unseal(randomBytes(32), aad, sealed)).toThrow(SealError);
  });

  it("refuses a truncated tag, even one GCM itself would accept", () => {
    const sealed = seal(key, aad, "s");
    const [v, iv, tag, ct] = sealed.split(".") as [string, string, string, string];
    const short = Buffer.from(tag, "base64url").subarray(0, 4).toString("base64url");
    expect(() => unseal(key, aad, [v, iv, short, ct].join("."))).toThrow(/tag length/);

    // A forger who can write the row and make 4-byte tags verify: a value sealed with a 4-byte tag
    // opens under a decipher that does not pin the tag length. Ours refuses it.
    const ivBytes = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, ivBytes, { authTagLength: 4 });
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update("forged", "utf8"), cipher.final()]);
    const forged = ["v1", ivBytes, cipher.getAuthTag(), body]
      .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
      .join(".");
    expect(() => unseal(key, aad, forged)).toThrow(SealError);
  });

  it("refuses a changed byte in the IV, tag or ciphertext, and malformed text", () => {
    const parts = seal(key, aad, "secret").split(".");
    for (const index of [1, 2, 3]) {
      const bytes = Buffer.from(parts[index] ?? "", "base64url");
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      const tampered = parts.map((p, i) => (i === index ? bytes.toString("base64url") : p)).join(".");
      expect(() => unseal(key, aad, tampered)).toThrow(SealError);
    }
    expect(() => unseal(key, aad, "v0.a.b.c")).toThrow(SealError);
    expect(() => unseal(key, aad, "garbage")).toThrow(SealError);
  });

  it("refuses a key of the wrong size", () => {
    expect(() => seal(randomBytes(16), aad, "s")).toThrow(SealError);
  });
});
