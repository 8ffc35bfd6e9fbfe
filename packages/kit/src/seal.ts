import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Secrets at rest (provider credentials in dispatch, webhook signing secrets in auth): AES-256-GCM
 * with a fresh 12-byte IV per seal and a 16-byte tag, stored as `v1.<iv>.<tag>.<ciphertext>`
 * (base64url parts). The caller's additional authenticated data binds a ciphertext to its row, so a
 * value copied to another row fails instead of decrypting.
 *
 * One implementation for every service: GCM accepts tags as short as 4 bytes unless told the
 * length, so a decipher without `authTagLength` would accept a truncated (forgeable) tag.
 */
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = "v1";

/** Why a sealed value could not be opened; the message never contains plaintext or key material. */
export class SealError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SealError";
  }
}

export function seal(key: Buffer, aad: Buffer, plaintext: string): string {
  if (key.length !== KEY_BYTES) throw new SealError(`the sealing key must be ${KEY_BYTES} bytes`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return [
    VERSION,
    iv.toString("base64url"),
    cipher.getAuthTag().toString("base64url"),
    ciphertext.toString("base64url"),
  ].join(".");
}

/** Decrypts and authenticates; a wrong key, a wrong AAD, a short tag or any changed byte throws `SealError`. */
export function unseal(key: Buffer, aad: Buffer, sealed: string): string {
  const parts = sealed.split(".");
  const [version, ivText, tagText, ctText] = parts;
  if (parts.length !== 4 || version !== VERSION || !ivText || !tagText || ctText === undefined) {
    throw new SealError("unknown sealed-value format");
  }
  const iv = Buffer.from(ivText, "base64url");
  const tag = Buffer.from(tagText, "base64url");
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SealError("bad iv or tag length");
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch (err) {
    throw new SealError("authentication failed", { cause: err });
  }
}
