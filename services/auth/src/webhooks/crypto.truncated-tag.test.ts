import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openSecret, sealSecret } from "./crypto.js";

const key = randomBytes(32);

describe("webhook secrets at rest", () => {
  it("round-trip under their row id only", () => {
    const id = randomUUID();
    expect(openSecret(key, id, sealSecret(key, id, "whsec_abc"))).toBe("whsec_abc");
    expect(() => openSecret(key, randomUUID(), sealSecret(key, id, "whsec_abc"))).toThrow();
  });

  it("refuse a secret whose GCM tag was cut short (GCM alone would accept it)", () => {
    const id = randomUUID();
    const [v, iv, tag, body] = sealSecret(key, id, "whsec_real").split(".") as [
      string,
      string,
      string,
      string,
    ];
    for (const bytes of [12, 8, 4]) {
      const short = Buffer.from(tag, "base64url").subarray(0, bytes).toString("base64url");
      expect(() => openSecret(key, id, [v, iv, short, body].join("."))).toThrow(/tag length/);
    }
  });
});
