import { isAccountName } from "@gatehouse/contracts";

export interface ModelRef {
  account: string;
  model: string;
}

/**
 * `<account>/<model>`, split at the first slash: the model part may contain slashes of its own
 * (`together-main/meta-llama/Llama-3-70b`). Anything that does not name a well-formed account is
 * `undefined` — the caller answers 404 without asking anyone.
 */
export function parseModelRef(value: string): ModelRef | undefined {
  const slash = value.indexOf("/");
  if (slash <= 0 || slash === value.length - 1) return undefined;
  const account = value.slice(0, slash);
  const model = value.slice(slash + 1);
  if (!isAccountName(account)) return undefined;
  return { account, model };
}

export function modelId(account: string, model: string): string {
  return `${account}/${model}`;
}
