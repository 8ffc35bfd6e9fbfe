import { randomBytes } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com) through the `standardwebhooks`
 * package, the specification's own implementation: `webhook-signature` is a space-separated list of
 * `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, the secret is `whsec_<base64 bytes>`.
 * What it leaves to us: generating secrets, accepting any of several live secrets (rotation), and
 * checking the timestamp against the service's own clock (tests move it) as well as the real one.
 */
const SECRET_PREFIX = "whsec_";
/** Timestamps further than this from now are refused (replay window; the package's is the same). */
const TOLERANCE_SECONDS = 5 * 60;

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString("base64")}`;
}

/** The package signs and verifies a string or a Buffer: a view of the same bytes, not a copy. */
function payloadOf(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

export function signature(secret: string, id: string, timestamp: string, body: Uint8Array): string {
  return new Webhook(secret).sign(id, new Date(Number(timestamp) * 1000), payloadOf(body));
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

function signedWith(secret: string, headers: Record<string, string>, payload: Buffer): boolean {
  try {
    new Webhook(secret).verify(payload, headers, { jsonParse: false });
    return true;
  } catch (err) {
    if (err instanceof WebhookVerificationError) return false;
    throw err;
  }
}

/**
 * Does any `v1` signature in the header match any of the secrets? Every secret is tried, whichever
 * matched, so the work done does not say which one did.
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
  const wire = {
    "webhook-id": headers.id,
    "webhook-timestamp": headers.timestamp,
    "webhook-signature": headers.signature,
  };
  const payload = payloadOf(body);
  let ok = false;
  for (const secret of secrets) ok = signedWith(secret, wire, payload) || ok;
  return ok ? "ok" : "bad_signature";
}
