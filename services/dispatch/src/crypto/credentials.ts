import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { type Credentials, GatehouseError } from "@gatehouse/contracts";

const ALGORITHM = "aes-256-gcm";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/**
 * The additional authenticated data binds a ciphertext to its account row: copied into another
 * row (or another deployment's row with the same key) it fails authentication instead of decrypting.
 */
export function credentialsAad(accountId: string): Buffer {
  return Buffer.from(`gatehouse/dispatch/provider-account/${accountId}`, "utf8");
}

/** `v1.<iv>.<tag>.<ciphertext>`, base64url parts; a fresh random IV for every encryption. */
export function sealCredentials(key: Buffer, accountId: string, credentials: Credentials): string {
  if (key.length !== 32) throw new Error("master key must be 32 bytes");
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(credentialsAad(accountId));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(credentials), "utf8"), cipher.final()]);
  return [VERSION, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

/**
 * Decrypt and authenticate. A wrong key, a wrong account or any changed byte throws: the detail
 * (for logs) says which account, never anything from the plaintext.
 */
export function openCredentials(key: Buffer, accountId: string, sealed: string): Credentials {
  const parts = sealed.split(".");
  const [version, ivText, tagText, ctText] = parts;
  if (parts.length !== 4 || version !== VERSION || !ivText || !tagText || ctText === undefined) {
    throw undecryptable(accountId, "unknown ciphertext format");
  }
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
    throw undecryptable(accountId, "bad iv or tag length");
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(credentialsAad(accountId));
    decipher.setAuthTag(tag);
    const plaintext = Buffer.concat([decipher.update(Buffer.from(ctText, "base64url")), decipher.final()]);
    return JSON.parse(plaintext.toString("utf8")) as Credentials;
  } catch (err) {
    throw undecryptable(accountId, "authentication failed", err);
  }
}

function undecryptable(accountId: string, why: string, cause?: unknown): GatehouseError {
  return new GatehouseError("internal_error", "provider account credentials cannot be read", {
    detail: `credentials of account ${accountId}: ${why} (wrong GATEHOUSE_MASTER_KEY or tampered row)`,
    ...(cause === undefined ? {} : { cause }),
  });
}
