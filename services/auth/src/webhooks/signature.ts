import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` is a
 * space-separated list of `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, the secret
 * is `whsec_<base64 bytes>`. Written on node:crypto rather than the `standardwebhooks` package:
 * that verifies against one secret per instance (we accept any live secret, for rotation) and
 * computes HMAC in JavaScript; node's native HMAC and `timingSafeEqual` are a dozen lines.
 */
export const SECRET_PREFIX = "whsec_";
/** Timestamps further than this from now are refused (replay window). */
export const TOLERANCE_SECONDS = 5 * 60;

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

export function secretBytes(secret: string): Buffer {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return Buffer.from(b64, "base64");
}

export function signature(secret: string, id: string, timestamp: string, body: Uint8Array): string {
  const mac = createHmac("sha256", secretBytes(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest("base64");
  return `v1,${mac}`;
}

/** The three headers of a signed request, for sending. */
export function signedHeaders(
  secret: string,
  id: string,
  body: Uint8Array,
  now: Date,
): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": signature(secret, id, timestamp, body),
  };
}

export type Verdict = "ok" | "bad_signature" | "bad_timestamp";

/**
 * Does any `v1` signature in the header match any of the secrets? Every comparison is constant-time
 * over the 32-byte MAC; a signature of another length or version is skipped without comparing.
 */
export function verify(
  secrets: readonly string[],
  headers: { id: string; timestamp: string; signature: string },
  body: Uint8Array,
  now: Date,
): Verdict {
  if (!/^\d{1,15}$/.test(headers.timestamp)) return "bad_timestamp";
  const ts = Number(headers.timestamp);
  if (Math.abs(now.getTime() / 1000 - ts) > TOLERANCE_SECONDS) return "bad_timestamp";
  if (headers.id.length === 0) return "bad_signature";
  const offered: Buffer[] = [];
  for (const part of headers.signature.split(" ")) {
    const comma = part.indexOf(",");
    if (comma < 0 || part.slice(0, comma) !== "v1") continue;
    const mac = Buffer.from(part.slice(comma + 1), "base64");
    if (mac.length === 32) offered.push(mac);
  }
  if (offered.length === 0) return "bad_signature";
  let ok = false;
  for (const secret of secrets) {
    const expected = createHmac("sha256", secretBytes(secret))
      .update(`${headers.id}.${headers.timestamp}.`)
      .update(body)
      .digest();
    // No early exit: the work done does not depend on which secret or signature matched.
    for (const mac of offered) ok = timingSafeEqual(expected, mac) || ok;
  }
  return ok ? "ok" : "bad_signature";
}
