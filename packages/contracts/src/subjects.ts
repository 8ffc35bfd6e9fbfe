import type { z } from "zod";

/** The services that answer on the bus. ingress answers only its own sync subject. */
export type ServiceName = "ingress" | "auth" | "acl" | "dispatch";

/** A prefix is one NATS subject token, so `<prefix>.v1.<service>.<action>` is always 4+ tokens. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_PREFIX = "gatehouse";

/** A request/reply endpoint: its subject and both schemas, side by side. */
export interface Endpoint<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly service: ServiceName;
  /** Dotted action, e.g. `validate` or `admin.users.create`. */
  readonly action: string;
  readonly request: Req;
  readonly response: Res;
}

export type RequestOf<E extends Endpoint> = z.input<E["request"]>;
export type ResponseOf<E extends Endpoint> = z.output<E["response"]>;

export function defineEndpoint<Req extends z.ZodType, Res extends z.ZodType>(
  service: ServiceName,
  action: string,
  request: Req,
  response: Res,
): Endpoint<Req, Res> {
  return { service, action, request, response };
}

export function subjectFor(prefix: string, service: ServiceName, action: string): string {
  return `${prefix}.v1.${service}.${action}`;
}

/** The NATS micro service name a service registers under (`$SRV.PING.<name>`). */
export function microServiceName(prefix: string, service: ServiceName): string {
  return `${prefix}-${service}`;
}

/** JetStream names cannot contain dots; the prefix never does. */
export function accessEventStreamName(prefix: string): string {
  return `${prefix}_access_events`;
}

/** Access events from one source service: `<prefix>.v1.events.access.<source>`. */
export function accessEventSubject(prefix: string, source: string): string {
  return `${prefix}.v1.events.access.${source}`;
}

/** The product version every service reports to `$SRV.INFO`. */
export const GATEHOUSE_VERSION = "0.1.0";

/**
 * One source's feed heartbeat: `<prefix>.v1.events.heartbeat.<source>` (`*` to hear them all). Per
 * source, so the server's permissions let only the owning service speak for it.
 */
export function heartbeatSubject(prefix: string, source: string): string {
  return `${prefix}.v1.events.heartbeat.${source}`;
}

export function ingressPresenceSubject(prefix: string): string {
  return `${prefix}.v1.ingress.presence`;
}

/** Every ingress replica subscribes (no queue group): one request, one answer per replica. */
export function ingressSyncSubject(prefix: string): string {
  return `${prefix}.v1.ingress.sync`;
}

/**
 * The reply inbox prefix of a service's NATS connection (`_INBOX.<service>.…`). Per-service inboxes
 * let the server's permissions (infra/nats/nats.conf) give each service its own replies only.
 */
export function inboxPrefixFor(service: ServiceName | "local"): string {
  return `_INBOX.${service}`;
}

/**
 * Where a revoking service collects ingress replicas' sync answers: `<inbox prefix>.sync.<id>`,
 * apart from the inboxes its own requests' answers arrive on. The ingress user may publish to
 * this one only, so it cannot answer (or forge) what a service asked auth, acl or dispatch.
 */
export function syncInboxPrefix(connectionInboxPrefix: string | undefined): string {
  return `${connectionInboxPrefix ?? "_INBOX"}.sync`;
}
