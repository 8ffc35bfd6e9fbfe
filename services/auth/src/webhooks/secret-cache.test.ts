import { describe, expect, it } from "vitest";
import { type SealedSecret, WebhookSecretCache } from "./secret-cache.js";

describe("WebhookSecretCache", () => {
  it("opens each secret once, again when its ciphertext changes, and forgets deleted ones", () => {
    const cache = new WebhookSecretCache();
    const opened: string[] = [];
    const open = (r: SealedSecret) => {
      opened.push(r.id);
      return `secret-of-${r.secretCiphertext}`;
    };
    const a = { id: "a", secretCiphertext: "ca" };
    const b = { id: "b", secretCiphertext: "cb" };
    for (let i = 0; i < 100; i++)
      expect(cache.secretsFor([a, b], open)).toEqual(["secret-of-ca", "secret-of-cb"]);
    expect(opened).toEqual(["a", "b"]);
    expect(cache.secretsFor([{ id: "a", secretCiphertext: "ca2" }], open)).toEqual(["secret-of-ca2"]);
    expect(opened).toEqual(["a", "b", "a"]);
    // b was deleted meanwhile: it is opened afresh if a row with its id ever comes back.
    expect(cache.secretsFor([a, b], open)).toEqual(["secret-of-ca", "secret-of-cb"]);
    expect(opened).toEqual(["a", "b", "a", "a", "b"]);
  });

  it("leaves out a secret that cannot be opened, and tries it again next time", () => {
    const cache = new WebhookSecretCache();
    let works = false;
    const open = () => (works ? "s" : undefined);
    expect(cache.secretsFor([{ id: "a", secretCiphertext: "c" }], open)).toEqual([]);
    works = true;
    expect(cache.secretsFor([{ id: "a", secretCiphertext: "c" }], open)).toEqual(["s"]);
  });
});
