import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

/**
 * Gatehouse API keys: `gatehouse_<kind>_<32 base62 random>_<6 base62 CRC32>`.
 * - 32 base62 characters carry 32·log2(62) ≈ 190.5 bits from the CSPRNG.
 * - The fixed `gatehouse_pat_` / `gatehouse_vat_` prefix is what secret scanners match.
 * - The checksum lets ingress refuse a typo without a lookup; it is not a MAC (anyone can compute it).
 * - Only `_` separators, so a double-click selects the whole key.
 */
export type KeyKindName = "pat" | "vat";

export const KEY_PREFIX = "gatehouse";
export const RANDOM_LENGTH = 32;
export const CHECKSUM_LENGTH = 6;

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Bytes ≥ 248 (= 62·4) are dropped so every character is equally likely (no modulo bias). */
const REJECT_FROM = 248;

const KEY_PATTERN = /^gatehouse_(pat|vat)_([0-9A-Za-z]{32})_([0-9A-Za-z]{6})$/;

function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length + 8)) {
      if (byte >= REJECT_FROM) continue;
      out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** An unsigned 32-bit integer as exactly 6 base62 digits (62^6 > 2^32), zero-padded. */
export function toBase62Fixed(value: number, width = CHECKSUM_LENGTH): string {
  let n = value >>> 0;
  let out = "";
  for (let i = 0; i < width; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** The checksum of `gatehouse_<kind>_<random>`. */
export function checksumOf(body: string): string {
  return toBase62Fixed(crc32(body));
}

export function generateKey(kind: KeyKindName): string {
  const body = `${KEY_PREFIX}_${kind}_${randomBase62(RANDOM_LENGTH)}`;
  return `${body}_${checksumOf(body)}`;
}

export type ParsedKey = { ok: true; kind: KeyKindName } | { ok: false; reason: "malformed" | "bad_checksum" };

/** Check a key's shape and checksum; no lookup. Never echoes the text back. */
export function parseKey(text: string): ParsedKey {
  const m = KEY_PATTERN.exec(text);
  if (!m) return { ok: false, reason: "malformed" };
  const kind = m[1] as KeyKindName;
  const body = `${KEY_PREFIX}_${kind}_${m[2]}`;
  if (checksumOf(body) !== m[3]) return { ok: false, reason: "bad_checksum" };
  return { ok: true, kind };
}

/** SHA-256 of the full key text, lowercase hex: the only form a key is stored or sent in. */
export function hashKey(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * A short, recognisable hint for lists: the prefix, the first 4 random characters and the last 4
 * characters (part of the checksum). 4 of 32 random characters leave ≥166 bits unknown.
 */
export function displayHint(text: string): string {
  const m = KEY_PATTERN.exec(text);
  if (!m) return "gatehouse_…";
  return `${KEY_PREFIX}_${m[1]}_${(m[2] ?? "").slice(0, 4)}…${text.slice(-4)}`;
}

/** A new key and the only forms of it that may leave the place it is shown: hash and hint. */
export function mintKey(kind: KeyKindName): { key: string; keyHash: string; displayHint: string } {
  const key = generateKey(kind);
  return { key, keyHash: hashKey(key), displayHint: displayHint(key) };
}
