import type { Endpoint, RequestOf, ResponseOf } from "@gatehouse/contracts";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { actorOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";

/**
 * What every admin resource's REST side is made of: the public JSON is snake_case with ISO-8601
 * times and uuid ids, the bus contracts are camelCase, and a route is an HTTP shape, a bus endpoint
 * and the mapping between the two. A new resource declares its HTTP schemas and one `adminRoute`
 * per operation; the snake_case view is derived from the HTTP schema (`snakeView`).
 */

export type ZodApp = ReturnType<typeof typed>;

export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}

export const Id = z.uuid();
export const Time = z.string().describe("ISO-8601 date-time");

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional(),
});
export const IdParams = z.object({ id: Id });

export function listOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next_cursor: z.string().nullable() });
}

/** Query paging in the bus contract's terms. */
export function pageArgs(q: { limit: number; cursor?: string | undefined }) {
  return q.cursor === undefined ? { limit: q.limit } : { limit: q.limit, cursor: q.cursor };
}

/** A bus page as a REST list: `{ data, next_cursor }`. */
export function pageView<T, U>(view: (item: T) => U) {
  return (p: { items: T[]; nextCursor: string | null }) => ({
    data: p.items.map(view),
    next_cursor: p.nextCursor,
  });
}

/** `api_version` → `apiVersion`. */
export const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

type Camel<K extends string> = K extends `${infer H}_${infer T}` ? `${H}${Capitalize<Camel<T>>}` : K;
type Camelled<T> = { [K in keyof T as K extends string ? Camel<K> : K]: T[K] };

/** The fields of a snake_case body as the bus request's camelCase ones; absent fields stay absent. */
export function camelArgs<T extends Record<string, unknown>>(body: T): Camelled<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (value !== undefined) out[camel(key)] = value;
  return out as Camelled<T>;
}

type Def = { type: string; innerType?: z.ZodType; element?: z.ZodType };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under `optional`, `nullable` and `default`: what a present, non-null value looks like. */
function bare(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let d = defOf(s); d.innerType && ["optional", "nullable", "default"].includes(d.type); d = defOf(s)) {
    s = d.innerType;
  }
  return s;
}

type Convert = (value: unknown) => unknown;

function converter(schema: z.ZodType): Convert {
  const s = bare(schema);
  const def = defOf(s);
  if (def.type === "object" && s instanceof z.ZodObject) {
    const fields = Object.entries(s.shape as Record<string, z.ZodType>).map(
      ([key, field]) => [key, camel(key), converter(field)] as const,
    );
    return (value) => {
      if (value === null || typeof value !== "object") return value;
      const source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [key, from, convert] of fields) {
        const v = source[from];
        if (v !== undefined) out[key] = convert(v);
      }
      return out;
    };
  }
  if (def.type === "array" && def.element) {
    const convert = converter(def.element);
    return (value) => (Array.isArray(value) ? value.map(convert) : value);
  }
  // Scalars, enums and free-form records (options, detail): values are the caller's, kept as they are.
  return (value) => value;
}

/**
 * The view of a bus value (camelCase) in the REST shape `schema` declares (snake_case): each field
 * of `schema` is taken from its camelCase namesake, nested objects and arrays alike; fields the
 * schema does not declare are left out, and records of free-form keys are passed through unchanged.
 */
export function snakeView<S extends z.ZodType>(schema: S): (value: object) => z.input<S> {
  return converter(schema) as (value: object) => z.input<S>;
}

type Opt = z.ZodType | undefined;
type Parsed<S extends Opt> = S extends z.ZodType ? z.output<S> : undefined;
type Http<P extends Opt, Q extends Opt, B extends Opt> = {
  params: Parsed<P>;
  query: Parsed<Q>;
  body: Parsed<B>;
};
type Args<E extends Endpoint, Omitted extends string = "actor"> = Omit<RequestOf<E>, Omitted>;

export interface AdminRouteSpec<
  E extends Endpoint,
  R extends z.ZodType,
  P extends Opt,
  Q extends Opt,
  B extends Opt,
> {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  url: string;
  tags: string[];
  summary: string;
  params?: P;
  querystring?: Q;
  body?: B;
  /** The answer's schema; `status` 201 for a create, 200 otherwise. */
  response: R;
  status?: 200 | 201;
  endpoint: E;
  /** The bus request besides the actor, from the validated HTTP request. */
  request?: (http: Http<P, Q, B>, request: FastifyRequest) => Args<E> | Promise<Args<E>>;
  /** The bus answer in the REST shape. */
  view: (answer: ResponseOf<E>, http: Http<P, Q, B>) => z.input<R>;
  /** The answer as CSV, for a caller whose `Accept` asks for `text/csv` (exports). */
  csv?: CsvView<ResponseOf<E>>;
}

/** A CSV rendering of an answer, with any headers it needs (the next page's cursor, say). */
export type CsvView<A> = (answer: A) => { body: string; headers?: Record<string, string> };

const MEDIA_RANGE = /^\s*([^\s;]+)\s*(?:;(.*))?$/;
const QUALITY = /(?:^|;)\s*q\s*=\s*([0-9.]+)\s*(?:;|$)/i;

/**
 * Whether an `Accept` header asks for CSV: `text/csv` listed with a weight above 0 and at least that
 * of `application/json` (which is what is sent otherwise). `*` ranges are not a request for CSV.
 */
export function acceptsCsv(accept: string | undefined): boolean {
  if (typeof accept !== "string") return false;
  let csv = 0;
  let json = 0;
  for (const range of accept.slice(0, 1024).split(",")) {
    const m = MEDIA_RANGE.exec(range);
    if (!m?.[1]) continue;
    const q = m[2] === undefined ? 1 : Number(QUALITY.exec(m[2])?.[1] ?? 1);
    const type = m[1].toLowerCase();
    if (type === "text/csv") csv = Math.max(csv, q);
    else if (type === "application/json") json = Math.max(json, q);
  }
  return csv > 0 && csv >= json;
}

/**
 * One admin operation: authenticated before the body is read (an unauthenticated caller learns
 * nothing from validation errors), validated at the edge, sent to the owning service with the
 * caller as its actor, and answered in the REST shape. Authorization is the owning service's.
 */
export function adminRoute<
  E extends Endpoint,
  R extends z.ZodType,
  P extends Opt,
  Q extends Opt,
  B extends Opt,
>(app: ZodApp, ctx: IngressContext, spec: AdminRouteSpec<E, R, P, Q, B>): void {
  const status = spec.status ?? 200;
  const schema: Record<string, unknown> = { tags: spec.tags, summary: spec.summary };
  if (spec.params) schema.params = spec.params;
  if (spec.querystring) schema.querystring = spec.querystring;
  if (spec.body) schema.body = spec.body;
  schema.response = { [status]: spec.response };
  app.route({
    method: spec.method,
    url: spec.url,
    onRequest: ctx.authenticate,
    schema,
    handler: async (request, reply) => {
      const http = { params: request.params, query: request.query, body: request.body } as Http<P, Q, B>;
      const args = spec.request ? await spec.request(http, request) : {};
      const answer = await ctx.client.request(spec.endpoint, {
        ...args,
        actor: actorOf(request),
      } as RequestOf<E>);
      if (spec.csv && acceptsCsv(request.headers.accept)) {
        const { body, headers } = spec.csv(answer);
        return reply
          .code(status)
          .headers(headers ?? {})
          .type("text/csv; charset=utf-8")
          .serializer((payload) => payload as string)
          .send(body);
      }
      return reply.code(status).send(spec.view(answer, http));
    },
  });
}

type ItemOf<E extends Endpoint> = ResponseOf<E> extends { items: Array<infer T> } ? T : never;
type Paging = { limit: number; cursor?: string | undefined };

export interface AdminListSpec<
  E extends Endpoint,
  I extends z.ZodType,
  P extends Opt,
  Q extends z.ZodType<Paging>,
> extends Pick<
    AdminRouteSpec<E, I, P, Q, undefined>,
    "url" | "tags" | "summary" | "params" | "querystring" | "endpoint" | "csv"
  > {
  /** One item's REST schema: the answer is `{ data: [item], next_cursor }`. */
  item: I;
  /** The bus request besides the actor and the page, from the validated HTTP request. */
  request?: (http: Http<P, Q, undefined>) => Args<E, "actor" | "limit" | "cursor">;
  view: (item: ItemOf<E>) => z.input<I>;
}

/** A paged admin list (`GET`, `?limit=&cursor=`): keyset pages of the owning service as `{ data, next_cursor }`. */
export function adminList<
  E extends Endpoint,
  I extends z.ZodType,
  P extends Opt,
  Q extends z.ZodType<Paging>,
>(app: ZodApp, ctx: IngressContext, spec: AdminListSpec<E, I, P, Q>): void {
  const { item, view, request, ...rest } = spec;
  adminRoute(app, ctx, {
    ...rest,
    method: "GET",
    querystring: spec.querystring ?? PageQuery,
    response: listOf(item),
    request: (http) =>
      ({
        ...pageArgs(http.query as Paging),
        ...request?.(http as Http<P, Q, undefined>),
      }) as unknown as Args<E>,
    view: (answer) => pageView(view)(answer as { items: ItemOf<E>[]; nextCursor: string | null }),
  });
}
