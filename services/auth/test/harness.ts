import { randomBytes, randomUUID } from "node:crypto";
import { BusClient } from "@gatehouse/bus";
import {
  type AccessEventEnvelope,
  type Actor,
  authAdminPatsCreate,
  authAdminVatsCreate,
  authAdminWebhookDeliveriesList,
  authAdminWebhookEndpointsCreate,
  authValidate,
  type OutboundEventType,
  type RequestOf,
  type WebhookDelivery,
} from "@gatehouse/contracts";
import { generateKey, hashKey, mintKey } from "@gatehouse/keys";
import type { HostedService } from "@gatehouse/service-host";
import { captureLogger, createTestDatabase, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll } from "vitest";
import { buildApp, loadConfig } from "../src/index.js";

export interface AuthHarness {
  client: BusClient;
  nc: NatsConnection;
  prefix: string;
  admin: Actor;
  adminKey: string;
  /** Move the auth service's clock forward (expiry tests without sleeping). */
  advance(ms: number): void;
  logs: () => string;
  printed: string[];
  service: HostedService;
  databaseUrl: string;
  stop(): Promise<void>;
}

/** The auth service on its own database and subject prefix, bootstrapped with a known admin key. */
export async function startAuth(env: Record<string, string> = {}): Promise<AuthHarness> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const natsUrl = await testNatsUrl();
  const adminKey = generateKey("pat");
  const captured = captureLogger("auth");
  const printed: string[] = [];
  let offsetMs = 0;
  const service = buildApp(
    loadConfig({
      NATS_URL: natsUrl,
      GATEHOUSE_PREFIX: prefix,
      DATABASE_URL: database.url,
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      ACCESS_LEASE_MS: "200",
      LOG_LEVEL: "debug",
      ...env,
    }),
    {
      logger: captured.logger,
      print: (line) => printed.push(line),
      now: () => new Date(Date.now() + offsetMs),
    },
  );
  await service.start();
  const nc = await connect({ servers: natsUrl });
  const client = new BusClient(nc, prefix);
  const answer = await client.request(authValidate, { keyHash: hashKey(adminKey) });
  if (answer.outcome !== "valid") throw new Error(`bootstrap admin key is ${answer.outcome}`);
  return {
    client,
    nc,
    prefix,
    admin: {
      principal: answer.principal,
      keyId: answer.key.id,
      keyHash: hashKey(adminKey),
      requestId: "test-admin",
    },
    adminKey,
    advance: (ms) => {
      offsetMs += ms;
    },
    logs: captured.text,
    printed,
    service,
    databaseUrl: database.url,
    async stop() {
      await nc.close();
      await service.stop();
      await database.drop();
    },
  };
}

/** Validate a key through NATS, as ingress does (hash only). */
export function validate(h: AuthHarness, key: string) {
  return h.client.request(authValidate, { keyHash: hashKey(key) });
}

type WithoutKey<T> = Omit<T, "keyHash" | "displayHint">;

/** Create a PAT as ingress does: the key is made here and only its hash and hint go to auth. */
export async function createPat(h: AuthHarness, request: WithoutKey<RequestOf<typeof authAdminPatsCreate>>) {
  const { key, ...form } = mintKey("pat");
  return { ...(await h.client.request(authAdminPatsCreate, { ...request, ...form })), key };
}

/** Create a VAT as ingress does. */
export async function createVat(h: AuthHarness, request: WithoutKey<RequestOf<typeof authAdminVatsCreate>>) {
  const { key, ...form } = mintKey("vat");
  return { ...(await h.client.request(authAdminVatsCreate, { ...request, ...form })), key };
}

/** An outbound webhook endpoint for these event types (an unreachable public URL unless given). */
export async function createEndpoint(
  h: AuthHarness,
  eventTypes: OutboundEventType[],
  url = "https://hooks.example.com/gatehouse",
): Promise<string> {
  const { endpoint } = await h.client.request(authAdminWebhookEndpointsCreate, {
    actor: h.admin,
    url,
    description: "",
    eventTypes,
  });
  return endpoint.id;
}

/** The deliveries queued for an endpoint (up to 50). */
export async function deliveriesOf(h: AuthHarness, endpointId: string): Promise<WebhookDelivery[]> {
  return (await h.client.request(authAdminWebhookDeliveriesList, { actor: h.admin, endpointId, limit: 50 }))
    .items;
}

/** acl's access event for a removed grant, as acl's relay publishes it. */
export function grantRemoval(sequence: number, at = new Date().toISOString()): AccessEventEnvelope {
  return {
    source: "acl",
    sequence,
    at,
    event: { type: "grant.removed", subject: { kind: "user", id: randomUUID() }, account: "openai-main" },
  };
}

/** auth with webhooks on (a fresh AUTH_WEBHOOK_KEY), started before this file's tests, stopped after. */
export function webhooksAuthForFile(env: Record<string, string> = {}): { readonly h: AuthHarness } {
  let h: AuthHarness | undefined;
  beforeAll(async () => {
    h = await startAuth({ AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"), ...env });
  });
  afterAll(async () => {
    await h?.stop();
  });
  return {
    get h() {
      if (!h) throw new Error("auth has not started");
      return h;
    },
  };
}
