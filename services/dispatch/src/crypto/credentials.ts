import { type Credentials, GatehouseError } from "@gatehouse/contracts";
import { SealError, seal, unseal } from "@gatehouse/kit";

/**
 * The additional authenticated data binds a ciphertext to its account row: copied into another
 * row (or another deployment's row with the same key) it fails authentication instead of decrypting.
 */
export function credentialsAad(accountId: string): Buffer {
  return Buffer.from(`gatehouse/dispatch/provider-account/${accountId}`, "utf8");
}

/** AES-256-GCM under the master key (`seal` in @gatehouse/kit): `v1.<iv>.<tag>.<ciphertext>`. */
export function sealCredentials(key: Buffer, accountId: string, credentials: Credentials): string {
  return seal(key, credentialsAad(accountId), JSON.stringify(credentials));
}

/**
 * Decrypt and authenticate. A wrong key, a wrong account or any changed byte throws: the detail
 * (for logs) says which account, never anything from the plaintext.
 */
export function openCredentials(key: Buffer, accountId: string, sealed: string): Credentials {
  let plaintext: string;
  try {
    plaintext = unseal(key, credentialsAad(accountId), sealed);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    throw new GatehouseError("internal_error", "provider account credentials cannot be read", {
      detail: `credentials of account ${accountId}: ${err.message} (wrong GATEHOUSE_MASTER_KEY or tampered row)`,
      cause: err,
    });
  }
  return JSON.parse(plaintext) as Credentials;
}
