/** One thing the load is aimed at: the mock directly, a Gatehouse shape, or Portkey. */
export type TargetKey = "mock" | "relay" | "gatehouse-one" | "gatehouse-separate" | "portkey";

export type ModelKind = "small" | "stream200" | "ttfb";

export interface MeasuredProcess {
  name: string;
  pid: number;
}

export interface Target {
  key: TargetKey;
  label: string;
  /** Full URL of the chat completions endpoint. */
  url: string;
  headers: Record<string, string>;
  model(kind: ModelKind): string;
  /** The request body for a model (default: a chat completion, `chatBody`). */
  body?(model: string, stream: boolean): string;
  /** The target's own processes (CPU and RSS are reported for these). */
  processes: MeasuredProcess[];
}

export interface UnavailableTarget {
  key: TargetKey;
  label: string;
  unavailable: string;
}

export const TARGET_LABELS: Record<TargetKey, string> = {
  mock: "mock (direct)",
  relay: "relay floor (HTTP→NATS→HTTP, no checks)",
  "gatehouse-one": "Gatehouse, one process",
  "gatehouse-separate": "Gatehouse, separate processes",
  portkey: "Portkey 1.15.2",
};

export function chatBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: "user", content: "Say hello." }],
    max_tokens: 16,
    ...(stream ? { stream: true } : {}),
  });
}

/** The Responses API call that asks the same as `chatBody`. */
export function responsesBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    input: "Say hello.",
    max_output_tokens: 16,
    ...(stream ? { stream: true } : {}),
  });
}
