import { readFileSync } from "node:fs";
import { ConfigError } from "@gatehouse/kit";
import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
  nkeys,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "nats";
import { z } from "zod";

/**
 * How a service proves itself to NATS, read from the environment once. Every service and the
 * launcher spread these variables into their own schema and call `natsSecurityFrom` on the result.
 */
export const natsSecurityEnv = {
  /** NATS user name (user/password authentication); needs NATS_PASSWORD. */
  NATS_USER: z.string().max(256).optional(),
  /** Password of NATS_USER. */
  NATS_PASSWORD: z.string().max(1024).optional(),
  /** A NATS authentication token. */
  NATS_TOKEN: z.string().max(1024).optional(),
  /** Path of a `.creds` file (user JWT and nkey seed) for a server in operator/JWT mode. */
  NATS_CREDS: z.string().max(4096).optional(),
  /** An nkey user seed (`SU…`); prefer NATS_NKEY_SEED_FILE, which keeps it out of the environment. */
  NATS_NKEY_SEED: z.string().max(1024).optional(),
  /** Path of a file holding an nkey user seed. */
  NATS_NKEY_SEED_FILE: z.string().max(4096).optional(),
  /** Path of the CA certificate(s) (PEM) that signed the NATS server's certificate; turns TLS on. */
  NATS_TLS_CA: z.string().max(4096).optional(),
  /** Path of this client's certificate (PEM) for mutual TLS; needs NATS_TLS_KEY. */
  NATS_TLS_CERT: z.string().max(4096).optional(),
  /** Path of this client's private key (PEM) for mutual TLS; needs NATS_TLS_CERT. */
  NATS_TLS_KEY: z.string().max(4096).optional(),
};

export type NatsSecurityEnv = { [K in keyof typeof natsSecurityEnv]?: string | undefined };

export type NatsAuth =
  | { method: "none" }
  | { method: "user"; user: string; password: string }
  | { method: "token"; token: string }
  | { method: "creds"; creds: Uint8Array }
  | { method: "nkey"; seed: Uint8Array };

export interface NatsTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Credentials and TLS material, already read and checked. Never log this object. */
export interface NatsSecurity {
  readonly auth: NatsAuth;
  /** Set when TLS is required (any NATS_TLS_* variable, or a `tls://` URL). */
  readonly tls: NatsTls | undefined;
}

export const NO_NATS_SECURITY: NatsSecurity = { auth: { method: "none" }, tls: undefined };

const CREDS_JWT = /-----BEGIN NATS USER JWT-----\s*\n\s*(\S+)\s*\n\s*------END NATS USER JWT------/;
const CREDS_SEED = /-----BEGIN USER NKEY SEED-----\s*\n\s*(\S+)\s*\n\s*------END USER NKEY SEED------/;

/** An nkey user seed, or undefined: the text itself never reaches an error message. */
function userSeed(text: string): Uint8Array | undefined {
  const seed = new TextEncoder().encode(text.trim());
  try {
    const pair = nkeys.fromSeed(seed);
    return pair.getPublicKey().startsWith("U") ? seed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Check the NATS credential variables together and read the files they name. Errors name the
 * variable and what is wrong with it, never its value or the file's content (either may be secret).
 */
export function natsSecurityFrom(
  e: NatsSecurityEnv,
  natsUrl = "",
  readFile: (path: string) => Buffer = (path) => readFileSync(path),
): NatsSecurity {
  const issues: string[] = [];
  const read = (name: keyof NatsSecurityEnv, path: string): Buffer | undefined => {
    try {
      return readFile(path);
    } catch (err) {
      issues.push(`${name}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      return undefined;
    }
  };

  const methods = (
    [
      ["NATS_USER/NATS_PASSWORD", e.NATS_USER !== undefined || e.NATS_PASSWORD !== undefined],
      ["NATS_TOKEN", e.NATS_TOKEN !== undefined],
      ["NATS_CREDS", e.NATS_CREDS !== undefined],
      ["NATS_NKEY_SEED", e.NATS_NKEY_SEED !== undefined],
      ["NATS_NKEY_SEED_FILE", e.NATS_NKEY_SEED_FILE !== undefined],
    ] as const
  )
    .filter(([, set]) => set)
    .map(([name]) => name);
  if (methods.length > 1) {
    issues.push(`${methods.join(", ")}: set one way to authenticate to NATS, not ${methods.length}`);
  }

  let auth: NatsAuth = { method: "none" };
  if (e.NATS_USER !== undefined && e.NATS_PASSWORD === undefined) {
    issues.push("NATS_PASSWORD: required when NATS_USER is set");
  } else if (e.NATS_PASSWORD !== undefined && e.NATS_USER === undefined) {
    issues.push("NATS_USER: required when NATS_PASSWORD is set");
  } else if (e.NATS_USER !== undefined && e.NATS_PASSWORD !== undefined) {
    auth = { method: "user", user: e.NATS_USER, password: e.NATS_PASSWORD };
  } else if (e.NATS_TOKEN !== undefined) {
    auth = { method: "token", token: e.NATS_TOKEN };
  } else if (e.NATS_CREDS !== undefined) {
    const creds = read("NATS_CREDS", e.NATS_CREDS);
    if (creds) {
      const text = creds.toString("utf8");
      const seed = CREDS_SEED.exec(text)?.[1];
      if (!CREDS_JWT.test(text) || seed === undefined || !userSeed(seed)) {
        issues.push("NATS_CREDS: not a NATS credentials file (a user JWT and an nkey user seed)");
      } else {
        auth = { method: "creds", creds: new Uint8Array(creds) };
      }
    }
  } else if (e.NATS_NKEY_SEED !== undefined || e.NATS_NKEY_SEED_FILE !== undefined) {
    const name = e.NATS_NKEY_SEED !== undefined ? "NATS_NKEY_SEED" : "NATS_NKEY_SEED_FILE";
    const text =
      e.NATS_NKEY_SEED ?? read("NATS_NKEY_SEED_FILE", e.NATS_NKEY_SEED_FILE as string)?.toString("utf8");
    if (text !== undefined) {
      const seed = userSeed(text);
      if (seed) auth = { method: "nkey", seed };
      else issues.push(`${name}: not an nkey user seed (it starts with 'SU')`);
    }
  }

  if (e.NATS_TLS_CERT !== undefined && e.NATS_TLS_KEY === undefined) {
    issues.push("NATS_TLS_KEY: required when NATS_TLS_CERT is set (mutual TLS needs both)");
  }
  if (e.NATS_TLS_KEY !== undefined && e.NATS_TLS_CERT === undefined) {
    issues.push("NATS_TLS_CERT: required when NATS_TLS_KEY is set (mutual TLS needs both)");
  }
  const pem = (name: "NATS_TLS_CA" | "NATS_TLS_CERT" | "NATS_TLS_KEY"): string | undefined => {
    const path = e[name];
    if (path === undefined) return undefined;
    const text = read(name, path)?.toString("utf8");
    if (text !== undefined && !text.includes("-----BEGIN ")) issues.push(`${name}: not a PEM file`);
    return text;
  };
  const ca = pem("NATS_TLS_CA");
  const cert = pem("NATS_TLS_CERT");
  const key = pem("NATS_TLS_KEY");

  if (issues.length > 0) throw new ConfigError(issues);
  const wantsTls =
    ca !== undefined || cert !== undefined || natsUrl.split(",").some((u) => /^\s*tls:\/\//.test(u));
  const tls: NatsTls | undefined = wantsTls
    ? { ...(ca === undefined ? {} : { ca }), ...(cert && key ? { cert, key } : {}) }
    : undefined;
  return { auth, tls };
}

function authenticatorFor(auth: NatsAuth): Authenticator | undefined {
  switch (auth.method) {
    case "none":
      return undefined;
    case "user":
      return usernamePasswordAuthenticator(auth.user, auth.password);
    case "token":
      return tokenAuthenticator(auth.token);
    case "creds":
      return credsAuthenticator(auth.creds);
    case "nkey":
      return nkeyAuthenticator(auth.seed);
  }
}

/** The `nats` connection options that carry these credentials. */
export function natsConnectionSecurity(security: NatsSecurity): Partial<ConnectionOptions> {
  const authenticator = authenticatorFor(security.auth);
  return {
    ...(authenticator ? { authenticator } : {}),
    ...(security.tls ? { tls: { ...security.tls } } : {}),
  };
}
