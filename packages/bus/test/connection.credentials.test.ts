import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureLogger, type NatsServerProcess, startNatsServer } from "@gatehouse/testkit";
import { connect, nkeys } from "nats";

type KeyPair = ReturnType<typeof nkeys.createUser>;

import { afterAll, afterEach, describe, expect, it } from "vitest";
import { connectBus } from "../src/connection.js";
import { natsConnectionSecurity, natsSecurityFrom } from "../src/security.js";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-bus-creds-"));
const { logger } = captureLogger("bus-test");
let server: NatsServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

async function serve(config: string): Promise<string> {
  server = await startNatsServer({
    configFile: file(`server-${randomBytes(4).toString("hex")}.conf`, config),
  });
  return server.url;
}

/** Connect as a service would, from its environment; answers whether the server let it in. */
async function connectsWith(url: string, env: Record<string, string>): Promise<boolean> {
  const attempt = connectBus({ url, name: "creds-test", logger, security: natsSecurityFrom(env, url) });
  try {
    const bus = await attempt;
    await bus.nc.flush();
    await bus.nc.close();
    return true;
  } catch {
    return false;
  }
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("connectBus authenticates the way the environment says", () => {
  it("user and password", async () => {
    const url = await serve('authorization { users = [ { user: svc, password: "s3cret-pw" } ] }\n');
    expect(await connectsWith(url, { NATS_USER: "svc", NATS_PASSWORD: "s3cret-pw" })).toBe(true);
    expect(await connectsWith(url, { NATS_USER: "svc", NATS_PASSWORD: "wrong" })).toBe(false);
    expect(await connectsWith(url, {})).toBe(false);
  });

  it("a token", async () => {
    const url = await serve('authorization { token: "t0ken-value" }\n');
    expect(await connectsWith(url, { NATS_TOKEN: "t0ken-value" })).toBe(true);
    expect(await connectsWith(url, { NATS_TOKEN: "other" })).toBe(false);
  });

  it("an nkey seed, given inline or as a file", async () => {
    const user = nkeys.createUser();
    const url = await serve(`authorization { users = [ { nkey: ${user.getPublicKey()} } ] }\n`);
    expect(await connectsWith(url, { NATS_NKEY_SEED: text(user.getSeed()) })).toBe(true);
    const seedFile = file("user.nk", `${text(user.getSeed())}\n`);
    expect(await connectsWith(url, { NATS_NKEY_SEED_FILE: seedFile })).toBe(true);
    expect(await connectsWith(url, { NATS_NKEY_SEED: text(nkeys.createUser().getSeed()) })).toBe(false);
  });

  it("a .creds file against a server in operator mode", async () => {
    const operator = nkeys.createOperator();
    const account = nkeys.createAccount();
    const user = nkeys.createUser();
    const operatorJwt = jwt(operator, operator, { type: "operator", version: 2 });
    const accountJwt = jwt(operator, account, {
      limits: {
        subs: -1,
        data: -1,
        payload: -1,
        imports: -1,
        exports: -1,
        wildcards: true,
        conn: -1,
        leaf: -1,
      },
      type: "account",
      version: 2,
    });
    const userJwt = jwt(account, user, {
      pub: {},
      sub: {},
      subs: -1,
      data: -1,
      payload: -1,
      type: "user",
      version: 2,
    });
    const url = await serve(
      [
        `operator: ${operatorJwt}`,
        "resolver: MEMORY",
        `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`,
        "",
      ].join("\n"),
    );
    const creds = file(
      "user.creds",
      [
        "-----BEGIN NATS USER JWT-----",
        userJwt,
        "------END NATS USER JWT------",
        "",
        "-----BEGIN USER NKEY SEED-----",
        text(user.getSeed()),
        "------END USER NKEY SEED------",
        "",
      ].join("\n"),
    );
    expect(await connectsWith(url, { NATS_CREDS: creds })).toBe(true);
    expect(await connectsWith(url, {})).toBe(false);
  });

  it("mutual TLS: a client certificate signed by the server's CA, and no connection without one", async () => {
    const pki = makePki();
    const url = await serve(
      `tls { cert_file: "${pki.serverCert}", key_file: "${pki.serverKey}", ca_file: "${pki.ca}", verify: true }\n`,
    );
    expect(
      await connectsWith(url, {
        NATS_TLS_CA: pki.ca,
        NATS_TLS_CERT: pki.clientCert,
        NATS_TLS_KEY: pki.clientKey,
      }),
    ).toBe(true);
    // Without a client certificate the server refuses (a plain connect: no reconnect loop to wait out).
    const withoutCert = natsConnectionSecurity(natsSecurityFrom({ NATS_TLS_CA: pki.ca }, url));
    await expect(
      connect({ servers: url, maxReconnectAttempts: 0, timeout: 2_000, ...withoutCert }).then((nc) =>
        nc.flush(),
      ),
    ).rejects.toBeDefined();
  });
});

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** A NATS JWT (ed25519-nkey), signed by `issuer` about `subject`. */
function jwt(issuer: KeyPair, subject: KeyPair, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims = b64url(
    JSON.stringify({
      jti: randomBytes(16).toString("hex").toUpperCase(),
      iat: Math.floor(Date.now() / 1000),
      iss: issuer.getPublicKey(),
      name: "test",
      sub: subject.getPublicKey(),
      nats,
    }),
  );
  const signature = issuer.sign(new TextEncoder().encode(`${header}.${claims}`));
  return `${header}.${claims}.${b64url(signature)}`;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makePki() {
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl(
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
  );
  for (const [name, ext] of [
    ["server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"],
    ["client", "extendedKeyUsage=clientAuth"],
  ] as const) {
    openssl(
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
    );
    writeFileSync(p(`${name}.ext`), `${ext}\n`);
    openssl(
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.pem"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      p(`${name}.ext`),
      "-out",
      p(`${name}.pem`),
    );
  }
  return {
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
  };
}
