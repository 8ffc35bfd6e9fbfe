/** A stored webhook secret: its row id and sealed value. */
export interface SealedSecret {
  id: string;
  secretCiphertext: string;
}

/**
 * Decrypted inbound webhook secrets, kept in memory by row id so a request decrypts nothing it has
 * decrypted before. The caller still lists the rows (id and ciphertext, a tiny read) on every
 * request: a secret created or deleted through another auth instance counts at once, a deleted one
 * is forgotten here, and a changed ciphertext under the same id is opened again.
 */
export class WebhookSecretCache {
  private readonly opened = new Map<string, { ciphertext: string; secret: string }>();

  /** The secrets of `rows`; `open` runs only for rows not seen before (or whose ciphertext changed). */
  secretsFor(rows: readonly SealedSecret[], open: (row: SealedSecret) => string | undefined): string[] {
    const live = new Set<string>();
    const out: string[] = [];
    for (const row of rows) {
      live.add(row.id);
      let entry = this.opened.get(row.id);
      if (entry?.ciphertext !== row.secretCiphertext) {
        const secret = open(row);
        // One that cannot be opened (wrong key) is tried again next time, not remembered as absent.
        if (secret === undefined) continue;
        entry = { ciphertext: row.secretCiphertext, secret };
        this.opened.set(row.id, entry);
      }
      out.push(entry.secret);
    }
    for (const id of this.opened.keys()) if (!live.has(id)) this.opened.delete(id);
    return out;
  }
}
