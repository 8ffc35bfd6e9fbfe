import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateSecret, signature, signedHeaders, verify } from "./signature.js";

const body = Buffer.from('{"test": 2432232314}');
// The worked example of the Standard Webhooks specification.
const SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SPEC_TS = "1614265330";

describe("Standard Webhooks signatures", () => {
  it("matches the specification's worked example", () => {
    expect(signature(SPEC_SECRET, SPEC_ID, SPEC_TS, body)).toBe(
      "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    );
  });

  it("accepts any matching signature from any live secret (rotation)", () => {
    const now = new Date();
    const [a, b] = [generateSecret(), generateSecret()];
    const h = signedHeaders(b, "msg_1", body, now);
    const headers = {
      id: "msg_1",
      timestamp: h["webhook-timestamp"] ?? "",
      signature: `v1,${Buffer.alloc(32).toString("base64")} v2,xyz ${h["webhook-signature"]}`,
    };
    expect(verify([a, b], headers, body, now)).toBe("ok");
    expect(verify([a], headers, body, now)).toBe("bad_signature");
  });

  it("refuses a changed body, a changed id, and timestamps outside five minutes", () => {
    const now = new Date();
    const s = generateSecret();
    const h = signedHeaders(s, "msg_2", body, now);
    const headers = {
      id: "msg_2",
      timestamp: h["webhook-timestamp"] ?? "",
      signature: h["webhook-signature"] ?? "",
    };
    expect(verify([s], headers, Buffer.from('{"test": 1}'), now)).toBe("bad_signature");
    expect(verify([s], { ...headers, id: "msg_3" }, body, now)).toBe("bad_signature");
    expect(verify([s], headers, body, new Date(now.getTime() + 301_000))).toBe("bad_timestamp");
    expect(verify([s], headers, body, new Date(now.getTime() - 301_000))).toBe("bad_timestamp");
    expect(verify([s], { ...headers, timestamp: "soon" }, body, now)).toBe("bad_timestamp");
    expect(verify([], headers, body, now)).toBe("bad_signature");
  });

  it("signs the body's bytes as they are, multi-byte UTF-8 included", () => {
    const secret = generateSecret();
    const raw = Buffer.from('{"name":"Zoë — 東京 🚀"}');
    const mac = createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
      .update(`msg_4.${SPEC_TS}.`)
      .update(raw)
      .digest("base64");
    expect(signature(secret, "msg_4", SPEC_TS, raw)).toBe(`v1,${mac}`);
    expect(signature(secret, "msg_4", SPEC_TS, new Uint8Array(raw))).toBe(`v1,${mac}`);
  });
});
