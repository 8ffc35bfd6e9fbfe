import { type Route, route } from "@gatehouse/bus";
import {
  dispatchResponsesAct,
  dispatchResponsesOwner,
  GatehouseError,
  type ResponsesAction,
} from "@gatehouse/contracts";
import { isTranslatedResponseId, NOT_CANCELLABLE } from "@gatehouse/providers";
import type { ProviderClients } from "../invoke/clients.js";
import { type ResponsesDeps, responseNotFound, storeOff } from "./session.js";
import type { ResponseRow } from "./store.js";

const MAX_PAGE = 100;

/** `GET /v1/responses/{id}/input_items` over what Gatehouse kept: newest first unless `order=asc`. */
export function inputItemsPage(row: ResponseRow, query: Record<string, string>) {
  const all = (row.input ?? []) as Array<{ id?: string }>;
  const ordered = query.order === "asc" ? all : [...all].reverse();
  const limit = Math.min(MAX_PAGE, Math.max(1, Number.parseInt(query.limit ?? "20", 10) || 20));
  let start = 0;
  if (query.after !== undefined) {
    // An unknown cursor must not restart from the top: a client paging until has_more is false would never end.
    const at = ordered.findIndex((item) => item.id === query.after);
    if (at < 0) {
      throw new GatehouseError(
        "invalid_request",
        `invalid query parameter 'after': no item '${query.after}' in this response's input`,
      );
    }
    start = at + 1;
  }
  const data = ordered.slice(start, start + limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < ordered.length,
  };
}

function answerKept(row: ResponseRow, action: ResponsesAction, query: Record<string, string>) {
  switch (action) {
    case "get":
      return { status: 200, body: row.response };
    case "input_items":
      return { status: 200, body: inputItemsPage(row, query) };
    case "delete":
      return { status: 200, body: { id: row.id, object: "response", deleted: true } };
    case "cancel":
      // Gatehouse answers in the foreground only; there is never anything left to cancel.
      throw new GatehouseError(
        "invalid_request",
        "Only responses created with background=true can be cancelled.",
      );
  }
}

/**
 * `dispatch.responses.owner` (which account a caller's response lives on, so ingress can check access)
 * and `dispatch.responses.act` (read, delete, list input items, cancel). Both answer another principal's
 * id exactly as an unknown one.
 */
export function responsesRoutes(deps: ResponsesDeps, clients: ProviderClients): Route[] {
  return [
    route(dispatchResponsesOwner, async (request) => {
      const row = await deps.store.owned(request.id, request.principal);
      if (row !== undefined) return { account: row.account, model: row.model };
      if (isTranslatedResponseId(request.id) && deps.storeDays === 0) {
        throw storeOff("retrieving a response Gatehouse answered");
      }
      throw responseNotFound(request.id);
    }),
    route(dispatchResponsesAct, async (request) => {
      const row = await deps.store.owned(request.id, request.principal);
      if (row === undefined || row.account !== request.account) throw responseNotFound(request.id);
      if (!row.native) {
        const answer = answerKept(row, request.action, request.query);
        if (request.action === "delete") await deps.store.remove(row.id, request.principal);
        return answer;
      }
      const target = await clients.get(row.account);
      if (target === undefined) throw responseNotFound(request.id);
      if (!target.loaded.enabled) {
        throw new GatehouseError("permission_denied", `provider account '${row.account}' is disabled`);
      }
      const answer = await target.client.responsesAction(
        request.action,
        row.id,
        request.query,
        NOT_CANCELLABLE,
      );
      if (request.action === "delete") await deps.store.remove(row.id, request.principal);
      return answer;
    }),
  ];
}

/** Expired rows already read as gone; this only gives their space back, every `intervalMs`. */
export function startResponsePurge(deps: ResponsesDeps, intervalMs: number): { stop(): void } {
  const timer = setInterval(() => {
    deps.store
      .purgeExpired()
      .then((n) => {
        if (n > 0) deps.logger.debug({ purged: n }, "expired responses purged");
      })
      .catch((err: unknown) => deps.logger.warn({ err }, "could not purge expired responses"));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
