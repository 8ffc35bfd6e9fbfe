import {
  GatehouseError,
  isAccountName,
  ModelKind,
  PROVIDER_TYPES,
  type ProviderAccount,
} from "@gatehouse/contracts";
import { z } from "zod";
import { camel, Id, PageQuery as ListQuery, snakeView, Time } from "../http.js";

/**
 * The public shapes of the access-control admin API: snake_case JSON, ISO-8601 times. The bus
 * contracts stay camelCase; these mappers are the only place the two meet.
 */
const Price = z.number().min(0).max(1_000_000);

/** As every list's query, but an empty cursor reaches the service (the published document says so). */
export const PageQuery = ListQuery.extend({ cursor: z.string().max(512).optional() });

/** A name that cannot be an account is simply not found; it never reaches a service. */
export function accountParam(name: string): string {
  if (!isAccountName(name)) throw new GatehouseError("not_found", "provider account not found");
  return name;
}

export const ModelIn = z
  .object({
    name: z.string().min(1).max(256),
    kind: ModelKind,
    input_price_per_mtok: Price.optional(),
    output_price_per_mtok: Price.optional(),
  })
  .strict();
export const ModelOut = z.object({
  name: z.string(),
  kind: ModelKind,
  input_price_per_mtok: Price.nullable(),
  output_price_per_mtok: Price.nullable(),
});

export function modelIn(m: z.infer<typeof ModelIn>) {
  return {
    name: m.name,
    kind: m.kind,
    ...(m.input_price_per_mtok === undefined ? {} : { inputPricePerMTok: m.input_price_per_mtok }),
    ...(m.output_price_per_mtok === undefined ? {} : { outputPricePerMTok: m.output_price_per_mtok }),
  };
}

/**
 * The REST API is snake_case (`api_key`, `api_version`); providers name fields in camelCase. Only the
 * top-level names are converted: values (and nested keys such as Azure deployment names) are kept.
 */
export function camelKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [camel(key), value]));
}

const CredentialsIn = z
  .record(z.string().min(1).max(128), z.string().max(16_384))
  .describe("Write-only: stored encrypted, never returned");
const OptionsIn = z.record(z.string().min(1).max(128), z.unknown());

export const CreateAccountBody = z
  .object({
    name: z.string().describe("1-63 lowercase letters, digits or inner dashes"),
    type: z.enum(PROVIDER_TYPES),
    base_url: z.string().max(2_048).optional(),
    credentials: CredentialsIn.optional(),
    options: OptionsIn.optional(),
    models: z.array(ModelIn).max(1_000).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

const AdminOnly = "Tenant admins only: it decides where the account's credentials are sent.";

export const UpdateAccountBody = z
  .object({
    type: z.enum(PROVIDER_TYPES).optional().describe(`${AdminOnly} Needs credentials again.`),
    base_url: z
      .string()
      .max(2_048)
      .nullable()
      .optional()
      .describe(`${AdminOnly} Needs credentials again when the account has some.`),
    credentials: CredentialsIn.optional().describe(`${AdminOnly} Replaces the whole set; write-only.`),
    options: OptionsIn.optional().describe(AdminOnly),
    models: z.array(ModelIn).max(1_000).optional(),
    enabled: z.boolean().optional().describe("false disables the account at once, like POST …/disable"),
  })
  .strict();

export const AccountOut = z.object({
  id: Id,
  name: z.string(),
  type: z.enum(PROVIDER_TYPES),
  base_url: z.string().nullable(),
  options: z.record(z.string(), z.unknown()),
  credentials_set: z.boolean(),
  models: z.array(ModelOut),
  enabled: z.boolean(),
  created_at: Time,
  updated_at: Time,
  created_by: Id.nullable(),
});

const accountFields = snakeView(AccountOut);

export function accountOut(a: ProviderAccount): z.input<typeof AccountOut> {
  return {
    ...accountFields(a),
    models: a.models.map((m) => ({
      name: m.name,
      kind: m.kind,
      input_price_per_mtok: m.inputPricePerMTok ?? null,
      output_price_per_mtok: m.outputPricePerMTok ?? null,
    })),
  };
}

export const NameParams = z.object({ name: z.string().max(256) });
export const GrantParams = z.object({ name: z.string().max(256), grantId: Id });
export const TeamParams = z.object({ id: Id });
export const MemberParams = z.object({ id: Id, userId: Id });

const SubjectKind = z.enum(["user", "team", "virtual_account"]);
const Role = z.enum(["user", "manager"]);
export const CreateGrantBody = z
  .object({ subject: z.object({ kind: SubjectKind, id: Id }).strict(), role: Role })
  .strict();
export const GrantOut = z.object({
  id: Id,
  account: z.string(),
  subject: z.object({ kind: SubjectKind, id: Id }),
  role: Role,
  created_at: Time,
  created_by: Id.nullable(),
});

export const grantOut = snakeView(GrantOut);

export const CreateTeamBody = z
  .object({ name: z.string().trim().min(1).max(200), description: z.string().max(2_000).optional() })
  .strict();
export const TeamOut = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  member_count: z.number().int(),
  created_at: Time,
  created_by: Id.nullable(),
});
export const teamOut = snakeView(TeamOut);
export const AddMemberBody = z.object({ user_id: Id }).strict();
export const MemberOut = z.object({ team_id: Id, user_id: Id, added_at: Time, added_by: Id.nullable() });

export const memberOut = snakeView(MemberOut);

export const AuditQuery = PageQuery.extend({ source: z.enum(["acl", "dispatch"]).default("acl") });
export const AuditOut = z.object({
  id: Id,
  at: Time,
  actor_kind: z.enum(["user", "virtual_account", "system"]),
  actor_id: Id.nullable(),
  actor_key_id: Id.nullable(),
  action: z.string(),
  target_kind: z.string(),
  target_id: z.string().nullable(),
  request_id: z.string().nullable(),
  outcome: z.enum(["success", "denied"]),
  detail: z.record(z.string(), z.unknown()),
});
export const auditOut = snakeView(AuditOut);
