import { ConfigError } from "@gatehouse/kit";
import { nkeys } from "nats";
import { describe, expect, it } from "vitest";
import { natsConnectionSecurity, natsSecurityFrom } from "./security.js";

const userSeed = new TextDecoder().decode(nkeys.createUser().getSeed());
const accountSeed = new TextDecoder().decode(nkeys.createAccount().getSeed());

function files(map: Record<string, string>) {
  return (path: string): Buffer => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
    return Buffer.from(text);
  };
}

function refusal(env: Record<string, string>, read = files({})): ConfigError {
  try {
    natsSecurityFrom(env, "", read);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("natsSecurityFrom", () => {
  it("needs nothing: no variables, no credentials", () => {
    expect(natsSecurityFrom({})).toEqual({ auth: { method: "none" }, tls: undefined });
  });

  it("reads each way to authenticate", () => {
    expect(natsSecurityFrom({ NATS_USER: "auth", NATS_PASSWORD: "pw" }).auth).toEqual({
      method: "user",
      user: "auth",
      password: "pw",
    });
    expect(natsSecurityFrom({ NATS_TOKEN: "t0k" }).auth).toEqual({ method: "token", token: "t0k" });
    expect(natsSecurityFrom({ NATS_NKEY_SEED: userSeed }).auth.method).toBe("nkey");
    expect(
      natsSecurityFrom({ NATS_NKEY_SEED_FILE: "/seed" }, "", files({ "/seed": `${userSeed}\n` })).auth.method,
    ).toBe("nkey");
    const creds = [
      "-----BEGIN NATS USER JWT-----",
      "eyJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.sig",
      "------END NATS USER JWT------",
      "",
      "-----BEGIN USER NKEY SEED-----",
      userSeed,
      "------END USER NKEY SEED------",
      "",
    ].join("\n");
    expect(natsSecurityFrom({ NATS_CREDS: "/u.creds" }, "", files({ "/u.creds": creds })).auth.method).toBe(
      "creds",
    );
  });

  it("turns TLS on with a CA, a client certificate, or a tls:// URL", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n";
    const read = files({ "/ca.pem": pem, "/c.pem": pem, "/k.pem": "-----BEGIN PRIVATE KEY-----\nx\n" });
    expect(natsSecurityFrom({ NATS_TLS_CA: "/ca.pem" }, "", read).tls).toEqual({ ca: pem });
    const mutual = natsSecurityFrom({ NATS_TLS_CERT: "/c.pem", NATS_TLS_KEY: "/k.pem" }, "", read).tls;
    expect(mutual?.cert).toBe(pem);
    expect(mutual?.key).toContain("PRIVATE KEY");
    expect(natsSecurityFrom({}, "tls://nats:4222").tls).toEqual({});
    expect(natsConnectionSecurity(natsSecurityFrom({ NATS_TOKEN: "t" })).authenticator).toBeTypeOf(
      "function",
    );
  });

  it("refuses a user without a password, and a password without a user, naming the variable only", () => {
    const secret = "hunter2-the-password";
    expect(refusal({ NATS_USER: "auth" }).issues).toEqual(["NATS_PASSWORD: required when NATS_USER is set"]);
    const e = refusal({ NATS_PASSWORD: secret });
    expect(e.issues).toEqual(["NATS_USER: required when NATS_PASSWORD is set"]);
    expect(e.message).not.toContain(secret);
  });

  it("refuses two ways to authenticate at once", () => {
    const e = refusal({ NATS_TOKEN: "a-secret-token", NATS_USER: "auth", NATS_PASSWORD: "a-secret-pw" });
    expect(e.message).toContain("NATS_USER/NATS_PASSWORD, NATS_TOKEN: set one way to authenticate");
    expect(e.message).not.toContain("a-secret-token");
    expect(e.message).not.toContain("a-secret-pw");
  });

  it("refuses a seed that is not an nkey user seed without printing it", () => {
    for (const bad of ["SUnot-a-seed-at-all-but-secret", accountSeed]) {
      const e = refusal({ NATS_NKEY_SEED: bad });
      expect(e.issues).toEqual(["NATS_NKEY_SEED: not an nkey user seed (it starts with 'SU')"]);
      expect(e.message).not.toContain(bad);
    }
    const e = refusal({ NATS_NKEY_SEED_FILE: "/seed" }, files({ "/seed": "garbage-secret" }));
    expect(e.issues[0]).toMatch(/^NATS_NKEY_SEED_FILE: /);
    expect(e.message).not.toContain("garbage-secret");
  });

  it("refuses a creds file that is not one, or cannot be read, without its content", () => {
    const e = refusal({ NATS_CREDS: "/u.creds" }, files({ "/u.creds": `just a secret ${userSeed}` }));
    expect(e.issues).toEqual(["NATS_CREDS: not a NATS credentials file (a user JWT and an nkey user seed)"]);
    expect(e.message).not.toContain(userSeed);
    expect(refusal({ NATS_CREDS: "/missing" }).issues).toEqual(["NATS_CREDS: cannot read the file (ENOENT)"]);
  });

  it("refuses a certificate without its key and a key without its certificate", () => {
    const pem = "-----BEGIN CERTIFICATE-----\n";
    const read = files({ "/c.pem": pem, "/k.pem": "-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n" });
    expect(refusal({ NATS_TLS_CERT: "/c.pem" }, read).issues).toEqual([
      "NATS_TLS_KEY: required when NATS_TLS_CERT is set (mutual TLS needs both)",
    ]);
    const e = refusal({ NATS_TLS_KEY: "/k.pem" }, read);
    expect(e.issues).toEqual(["NATS_TLS_CERT: required when NATS_TLS_KEY is set (mutual TLS needs both)"]);
    expect(e.message).not.toContain("secret-key-bytes");
    const notPem = refusal({ NATS_TLS_CA: "/ca" }, files({ "/ca": "secret-ish bytes" }));
    expect(notPem.issues).toEqual(["NATS_TLS_CA: not a PEM file"]);
  });
});
