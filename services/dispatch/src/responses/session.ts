import { GatehouseError, type InvokeMeta } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import {
  type InvokeResult,
  type ProviderClient,
  type ResponsesInputItem,
  type ResponsesState,
  responsesReferences,
} from "@gatehouse/providers";
import type { Owner, ResponseRow, ResponseStore } from "./store.js";

/** The setting that turns Gatehouse's own response store on, named in every refusal it causes. */
export const STORE_SETTING = "GATEHOUSE_RESPONSE_STORE_DAYS";

export function storeOff(what: string): GatehouseError {
  return new GatehouseError(
    "invalid_request",
    `${what} needs Gatehouse's response store on this provider account, which is off: an operator enables it with ${STORE_SETTING}`,
  );
}

/**
 * How many items a translated conversation may carry into one call, as many as one request's input may:
 * each turn keeps the whole conversation before it, so without a bound a chain of calls grows its rows
 * (and the chat request sent upstream) without end.
 */
export const MAX_CONVERSATION_ITEMS = 10_000;

export function responseNotFound(id: string): GatehouseError {
  return new GatehouseError("not_found", `Response with id '${id}' not found.`);
}

/** What Gatehouse kept of a translated response, as the items a follow-up call continues from. */
export function conversationOf(row: ResponseRow): ResponsesInputItem[] {
  const output = (row.response as { output?: unknown[] } | null)?.output ?? [];
  return [...(row.history ?? []), ...(row.input ?? []), ...output] as ResponsesInputItem[];
}

function itemsById(rows: readonly ResponseRow[]): Map<string, ResponsesInputItem> {
  const items = new Map<string, ResponsesInputItem>();
  for (const row of rows) {
    for (const item of conversationOf(row)) if (typeof item.id === "string") items.set(item.id, item);
  }
  return items;
}

export interface ResponsesDeps {
  store: ResponseStore;
  /** 0: Gatehouse keeps no responses of its own. */
  storeDays: number;
  logger: Logger;
}

/**
 * One `POST /v1/responses` through dispatch: before the call, every id the body names
 * (`previous_response_id`, item references) must belong to the caller; after it, the new id's owner
 * is recorded before the caller can see the id (and a translated answer is kept when the store is on).
 */
/** The envelope of a call to one account (a route never reaches the Responses API). */
export type AccountMeta = InvokeMeta & { account: string; model: string };

export class ResponsesSession {
  private recorded = false;

  private constructor(
    private readonly deps: ResponsesDeps,
    private readonly meta: AccountMeta,
    private readonly native: boolean,
    /** The caller did not say `store: false`. */
    private readonly wantsStore: boolean,
    readonly state: ResponsesState | undefined,
    private readonly history: ResponsesInputItem[],
  ) {}

  static async begin(
    deps: ResponsesDeps,
    meta: AccountMeta,
    body: Record<string, unknown>,
    client: ProviderClient,
  ): Promise<ResponsesSession> {
    const refs = responsesReferences(body);
    const owner: Owner = meta.principal;
    const native = client.responsesNative;
    const storeOn = deps.storeDays > 0;
    if (!native && !storeOn) {
      if (refs.previousResponseId !== undefined) throw storeOff("previous_response_id");
      if (refs.itemIds.length > 0) throw storeOff("an item_reference");
    }
    let history: ResponsesInputItem[] = [];
    if (refs.previousResponseId !== undefined) {
      const previous = await deps.store.owned(refs.previousResponseId, owner);
      if (previous === undefined) throw responseNotFound(refs.previousResponseId);
      // ingress checked the caller's access to this call's account only: a conversation kept on
      // another account (one the caller may since have lost) is never replayed through this one.
      if (previous.account !== meta.account) {
        throw new GatehouseError(
          "invalid_request",
          `previous_response_id: response '${refs.previousResponseId}' was made on provider account '${previous.account}'; continue it with a model of that account`,
        );
      }
      if (previous.native !== native) {
        throw new GatehouseError(
          "invalid_request",
          `previous_response_id: response '${refs.previousResponseId}' is kept by ${previous.native ? "the provider" : "Gatehouse"}, not where this call goes`,
        );
      }
      if (!native) {
        history = conversationOf(previous);
        const added = Array.isArray(body.input) ? body.input.length : 1;
        if (history.length + added > MAX_CONVERSATION_ITEMS) {
          throw new GatehouseError(
            "invalid_request",
            `previous_response_id: the conversation would hold more than ${MAX_CONVERSATION_ITEMS} items; start a new one`,
          );
        }
      }
    }
    // Items are looked up on this call's account only, for the same reason.
    const rows =
      refs.itemIds.length === 0 ? [] : await deps.store.withItems(refs.itemIds, owner, meta.account);
    const owned = new Set(rows.flatMap((row) => row.itemIds));
    const missing = refs.itemIds.find((id) => !owned.has(id));
    if (missing !== undefined) throw new GatehouseError("not_found", `Item with id '${missing}' not found.`);
    const keep = !native && storeOn && refs.store;
    const state = native ? undefined : { history, items: itemsById(rows), store: keep };
    return new ResponsesSession(deps, meta, native, refs.store, state, history);
  }

  /**
   * A native stream's id arrives in its first event: record the owner before that frame goes out.
   * Returns nothing when there is nothing to wait for, so the per-frame cost is a property read.
   */
  seen(result: Extract<InvokeResult, { kind: "stream" }>): Promise<void> | undefined {
    if (this.recorded || !this.native || !this.wantsStore) return undefined;
    const id = result.responses?.id();
    if (id === undefined) return undefined;
    this.recorded = true;
    return this.safely(() =>
      this.deps.store.recordNative({ id, owner: this.meta.principal, ...this.target(), itemIds: [] }),
    );
  }

  /** Once the answer is complete, before its last frame (or the JSON) reaches the caller. */
  finish(result: InvokeResult): Promise<void> | undefined {
    const trace = result.responses;
    const id = trace?.id();
    if (trace === undefined || id === undefined) return undefined;
    const owner = this.meta.principal;
    if (this.native) {
      if (!this.wantsStore) return undefined;
      return this.safely(() =>
        this.deps.store.recordNative({ id, owner, ...this.target(), itemIds: trace.itemIds() }),
      );
    }
    // Nothing to keep: skip building the record (it mints an id per input item).
    if (!this.state?.store) return undefined;
    const record = trace.record();
    if (record === undefined) return undefined;
    const itemIds = [
      ...record.input.flatMap((item) => (typeof item.id === "string" ? [item.id] : [])),
      ...trace.itemIds(),
    ];
    return this.safely(() =>
      this.deps.store.keep(
        { id, owner, ...this.target(), itemIds, history: this.history, ...record },
        this.deps.storeDays,
      ),
    );
  }

  private target() {
    return { account: this.meta.account, model: this.meta.model };
  }

  /** The answer itself is fine when recording fails: its id then answers 404 later, never another's data. */
  private async safely(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (err) {
      this.deps.logger.warn({ err, requestId: this.meta.requestId }, "could not record a response's owner");
    }
  }
}
