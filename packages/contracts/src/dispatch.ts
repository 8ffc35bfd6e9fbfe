import { z } from "zod";
import { Actor, AuditPage, Empty, HealthResponse, IsoDateTime, ListRequest, pageOf, Uuid } from "./common.js";
import { Propagated } from "./events.js";
import { defineEndpoint } from "./subjects.js";

/**
 * The provider types Gatehouse can dispatch to. This list is the one place they are named outside
 * `packages/providers`; adding a type here without an adapter there fails its registry's typecheck.
 */
export const PROVIDER_TYPES = ["openai", "azure-openai", "anthropic", "gemini", "mock"] as const;
export const ProviderType = z.enum(PROVIDER_TYPES);
export type ProviderType = z.infer<typeof ProviderType>;

/**
 * A provider account name: lowercase ASCII letters, digits and inner dashes, 1–63 characters (a DNS
 * label). It becomes the first segment of a model id and of admin URLs, so anything that could be
 * read as a path (`/`, `.`, `..`), differ only by case, or hide a Unicode look-alike is refused.
 * JavaScript's `$` without the `m` flag matches only at the very end, so a trailing newline fails too.
 */
export const ACCOUNT_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const ACCOUNT_NAME_MAX = 63;
export const AccountName = z
  .string()
  .regex(ACCOUNT_NAME_PATTERN, "must be 1-63 lowercase letters, digits or inner dashes");
export type AccountName = z.infer<typeof AccountName>;

export function isAccountName(value: string): boolean {
  return ACCOUNT_NAME_PATTERN.test(value);
}

export const ModelKind = z.enum(["chat", "embedding", "completion"]);
export type ModelKind = z.infer<typeof ModelKind>;

/** The longest model name within an account: the catalog's, and the invoke envelope's. */
export const MODEL_NAME_MAX = 256;
/** The longest model id `<account>/<model>` a caller may send: both names at their longest. */
export const MODEL_ID_MAX = ACCOUNT_NAME_MAX + 1 + MODEL_NAME_MAX;

/** Upstream model names may contain slashes (`meta-llama/Llama-3-70b`) but no whitespace or controls. */
export const ModelName = z
  .string()
  .min(1)
  .max(MODEL_NAME_MAX)
  .regex(/^[^\s\p{Cc}]+$/u, "must not contain whitespace or control characters");

const Price = z.number().min(0).max(1_000_000);

export const AccountModel = z.object({
  name: ModelName,
  kind: ModelKind,
  /** USD per one million input tokens, when known (for usage cost). */
  inputPricePerMTok: Price.optional(),
  /** USD per one million output tokens, when known. */
  outputPricePerMTok: Price.optional(),
});
export type AccountModel = z.infer<typeof AccountModel>;

/**
 * Size bounds that keep every answer about one account inside one NATS message (1 MiB by default):
 * the models (at most 1,000, at most 512 KiB as JSON) and the options (64 KiB) of the largest
 * account, with its other fields, stay under 600 KiB. Lists are paged by the same measure.
 */
export const MAX_MODELS_PER_ACCOUNT = 1_000;
export const MAX_ACCOUNT_MODELS_BYTES = 512 * 1024;
export const MAX_ACCOUNT_OPTIONS_BYTES = 64 * 1024;
/** A page of accounts stops before this many bytes of JSON (it always holds at least one account). */
export const ACCOUNT_PAGE_MAX_BYTES = 512 * 1024;

/** UTF-8 bytes of a value as JSON: what it weighs in a NATS message. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8");
}

export const AccountModels = z
  .array(AccountModel)
  .max(MAX_MODELS_PER_ACCOUNT)
  .refine((models) => new Set(models.map((m) => m.name)).size === models.length, {
    message: "model names must be unique within an account",
  })
  .refine((models) => jsonBytes(models) <= MAX_ACCOUNT_MODELS_BYTES, {
    message: `the model list must be at most ${MAX_ACCOUNT_MODELS_BYTES / 1024} KiB as JSON`,
  });

/** Credential fields by name (e.g. `apiKey`); values are secrets and never come back out. */
export const Credentials = z.record(z.string().min(1).max(128), z.string().max(16_384));
export type Credentials = z.infer<typeof Credentials>;

/** Non-secret, type-specific settings (e.g. an Azure API version). */
export const AccountOptions = z.record(z.string().min(1).max(128), z.unknown());
export type AccountOptions = z.infer<typeof AccountOptions>;
const BoundedAccountOptions = AccountOptions.refine(
  (options) => jsonBytes(options) <= MAX_ACCOUNT_OPTIONS_BYTES,
  { message: `options must be at most ${MAX_ACCOUNT_OPTIONS_BYTES / 1024} KiB as JSON` },
);

/** A provider account as every API shows it: never the credentials, only whether they are set. */
export const ProviderAccount = z.object({
  id: Uuid,
  name: AccountName,
  type: ProviderType,
  baseUrl: z.string().nullable(),
  options: AccountOptions,
  credentialsSet: z.boolean(),
  models: z.array(AccountModel),
  enabled: z.boolean(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  createdBy: Uuid.nullable(),
});
export type ProviderAccount = z.infer<typeof ProviderAccount>;

export const CreateAccountRequest = z.object({
  actor: Actor,
  name: AccountName,
  type: ProviderType,
  baseUrl: z.string().max(2_048).optional(),
  credentials: Credentials.default({}),
  options: BoundedAccountOptions.default({}),
  models: AccountModels.default([]),
  enabled: z.boolean().default(true),
});
export type CreateAccountRequest = z.input<typeof CreateAccountRequest>;

/**
 * Absent fields stay as they are; `credentials` replaces the whole set, `baseUrl: null` clears it.
 * `type`, `baseUrl`, `credentials` and `options` decide where the credentials go: tenant admins only.
 * `enabled: false` revokes like `admin.accounts.disable`.
 */
export const UpdateAccountRequest = z.object({
  actor: Actor,
  name: AccountName,
  type: ProviderType.optional(),
  baseUrl: z.string().max(2_048).nullable().optional(),
  credentials: Credentials.optional(),
  options: BoundedAccountOptions.optional(),
  models: AccountModels.optional(),
  enabled: z.boolean().optional(),
});
export type UpdateAccountRequest = z.input<typeof UpdateAccountRequest>;

export const AccountNameRequest = z.object({ actor: Actor, name: AccountName });

export const AccountPage = pageOf(ProviderAccount);

/** What ingress needs to resolve `<account>/<model>`: no credentials, no URLs. */
export const CatalogAccount = z.object({
  name: AccountName,
  enabled: z.boolean(),
  createdAt: IsoDateTime,
  /** With their prices, when known: ingress pre-charges a budget from them (docs/governance.md). */
  models: z
    .array(
      z.object({
        name: z.string(),
        kind: ModelKind,
        inputPricePerMTok: Price.optional(),
        outputPricePerMTok: Price.optional(),
      }),
    )
    .max(MAX_MODELS_PER_ACCOUNT),
});
export type CatalogAccount = z.infer<typeof CatalogAccount>;

/** One account's catalog entry: what a call resolves against (`null`: no such account). */
export const CatalogAccountRequest = z.object({ name: AccountName });
export const CatalogAccountResponse = z.object({ account: CatalogAccount.nullable() });
export type CatalogAccountResponse = z.infer<typeof CatalogAccountResponse>;

/**
 * A page of the catalog in account-name order, after `after`: every account, or only `names`, and
 * only enabled ones when asked. A page ends before `ACCOUNT_PAGE_MAX_BYTES`; `next` is the `after`
 * of the next page, `null` after the last.
 */
export const CATALOG_NAMES_MAX = 1_000;
export const CatalogListRequest = z.object({
  after: AccountName.optional(),
  names: z.array(AccountName).max(CATALOG_NAMES_MAX).optional(),
  enabledOnly: z.boolean().default(false),
});
export type CatalogListRequest = z.input<typeof CatalogListRequest>;
export const CatalogListResponse = z.object({
  accounts: z.array(CatalogAccount),
  next: AccountName.nullable(),
});
export type CatalogListResponse = z.infer<typeof CatalogListResponse>;

export const dispatchHealth = defineEndpoint("dispatch", "health", Empty, HealthResponse);
/**
 * How long dispatch waits on its database for a `catalog.*` answer before it answers 503 with
 * Retry-After: 1 (the bound its plan and account reads for a call have too): a database whose
 * connections hang, or that its pool keeps reconnecting to, is an outage, not a timeout.
 */
export const CATALOG_READ_WAIT_MS = 5_000;
/** How long ingress waits for a `catalog.*` answer: past dispatch's bound, so its 503 arrives first. */
export const CATALOG_REQUEST_TIMEOUT_MS = CATALOG_READ_WAIT_MS + 1_000;

export const dispatchCatalogAccount = defineEndpoint(
  "dispatch",
  "catalog.account",
  CatalogAccountRequest,
  CatalogAccountResponse,
);
export const dispatchCatalogList = defineEndpoint(
  "dispatch",
  "catalog.list",
  CatalogListRequest,
  CatalogListResponse,
);

export const dispatchAdminAccountsCreate = defineEndpoint(
  "dispatch",
  "admin.accounts.create",
  CreateAccountRequest,
  ProviderAccount,
);
export const dispatchAdminAccountsList = defineEndpoint(
  "dispatch",
  "admin.accounts.list",
  ListRequest,
  AccountPage,
);
export const dispatchAdminAccountsGet = defineEndpoint(
  "dispatch",
  "admin.accounts.get",
  AccountNameRequest,
  ProviderAccount,
);
export const dispatchAdminAccountsUpdate = defineEndpoint(
  "dispatch",
  "admin.accounts.update",
  UpdateAccountRequest,
  ProviderAccount.extend(Propagated),
);
export const dispatchAdminAccountsDisable = defineEndpoint(
  "dispatch",
  "admin.accounts.disable",
  AccountNameRequest,
  ProviderAccount.extend(Propagated),
);
export const dispatchAdminAccountsEnable = defineEndpoint(
  "dispatch",
  "admin.accounts.enable",
  AccountNameRequest,
  ProviderAccount,
);
export const dispatchAdminAccountsDelete = defineEndpoint(
  "dispatch",
  "admin.accounts.delete",
  AccountNameRequest,
  ProviderAccount.extend(Propagated),
);
export const dispatchAdminAuditList = defineEndpoint("dispatch", "admin.audit.list", ListRequest, AuditPage);
