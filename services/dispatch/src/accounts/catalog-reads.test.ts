import type { HandlerContext, Route } from "@gatehouse/bus";
import {
  dispatchCatalogAccount,
  dispatchCatalogList,
  dispatchCatalogRoutes,
  type GatehouseError,
} from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { catalogRoutes } from "../handlers/accounts-catalog.js";
import { routeAdminRoutes } from "../handlers/routes.js";
import { CatalogReads } from "./catalog-reads.js";
import type { AccountsContext } from "./context.js";

/**
 * A database whose queries never answer (connections held open, nothing coming back): every query
 * builder chains on, and awaiting one waits for good. Counts the queries started.
 */
function hangingDb() {
  let queries = 0;
  const chain: unknown = new Proxy(() => {}, {
    get: (_t, prop) => (prop === "then" ? () => {} : () => chain),
    apply: () => chain,
  });
  const db = new Proxy(
    {},
    {
      get: (_t, prop) =>
        prop === "select"
          ? () => {
              queries++;
              return chain;
            }
          : () => chain,
    },
  );
  return { db, queries: () => queries };
}

function handlerOf(routes: Route[], action: string) {
  const found = routes.find((r) => r.endpoint.action === action);
  if (!found) throw new Error(`no route ${action}`);
  return (req: unknown) => found.handler(req as never, {} as HandlerContext);
}

describe("catalog reads while dispatch's database hangs", () => {
  it("start at most CatalogReads' bound of queries; the lookups past it are refused at once (503, Retry-After: 1)", async () => {
    const { db, queries } = hangingDb();
    const ctx = { db } as unknown as AccountsContext;
    const reads = new CatalogReads(8, 60_000);
    const handlers = [...catalogRoutes(ctx, reads), ...routeAdminRoutes(ctx, reads)];
    const account = handlerOf(handlers, dispatchCatalogAccount.action);
    const list = handlerOf(handlers, dispatchCatalogList.action);
    const routes = handlerOf(handlers, dispatchCatalogRoutes.action);
    const asks = Array.from({ length: 30 }, (_, i) =>
      [account, list, routes][i % 3]?.({ name: `made-up-${i}`, names: [`made-up-${i}`] }),
    );
    const refused: unknown[] = [];
    for (const ask of asks) ask?.catch((err: unknown) => refused.push(err));
    await new Promise((r) => setImmediate(r));
    // Each hanging read holds a query (and its place in the pool's queue) until the database
    // answers: past the bound, a lookup does not add one, however many callers ask.
    expect(queries()).toBeLessThanOrEqual(8);
    expect(refused).toHaveLength(22);
    for (const err of refused) {
      expect(err).toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });
    }
    expect((refused[0] as GatehouseError).status).toBe(503);
  });
});

describe("CatalogReads", () => {
  it("gives a read's place back when it ends — answered, failed, thrown, or answered after its 503", async () => {
    const reads = new CatalogReads(1, 20, 60_000);
    await expect(reads.read(async () => "row")).resolves.toBe("row");
    await expect(reads.read(() => Promise.reject(new Error("connection reset")))).rejects.toThrow("reset");
    await expect(
      reads.read(() => {
        throw new Error("thrown");
      }),
    ).rejects.toThrow("thrown");
    expect(reads.size).toBe(0);
    // A read the database answers only past the bound: 503 first, its place held until it ends.
    let answer!: (v: string) => void;
    const late = reads.read(() => new Promise<string>((r) => (answer = r)));
    await expect(late).rejects.toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });
    await expect(reads.read(async () => "row")).rejects.toMatchObject({ code: "service_unavailable" });
    answer("row");
    await new Promise((r) => setImmediate(r));
    expect(reads.size).toBe(0);
    await expect(reads.read(async () => "row")).resolves.toBe("row");
  });

  it("stops counting a read the database never answers after a while: a stuck query does not refuse lookups for good", async () => {
    const reads = new CatalogReads(1, 10, 40);
    const stuck = reads.read(() => new Promise<string>(() => {}));
    await expect(stuck).rejects.toMatchObject({ code: "service_unavailable" });
    await expect(reads.read(async () => "row")).rejects.toMatchObject({ code: "service_unavailable" });
    await new Promise((r) => setTimeout(r, 60));
    expect(reads.size).toBe(0);
    await expect(reads.read(async () => "row")).resolves.toBe("row");
  });
});
