import { seal, unseal } from "@gatehouse/kit";

/**
 * Webhook secrets at rest: AES-256-GCM under AUTH_WEBHOOK_KEY (`seal` in @gatehouse/kit), bound to
 * the row (the row id is the AAD) so a ciphertext copied to another row does not decrypt.
 */
export function sealSecret(key: Buffer, rowId: string, secret: string): string {
  return seal(key, Buffer.from(rowId), secret);
}

/** Throws `SealError` for a wrong key, another row's ciphertext, a short tag or any changed byte. */
export function openSecret(key: Buffer, rowId: string, sealed: string): string {
  return unseal(key, Buffer.from(rowId), sealed);
}
