import { readFileSync } from "node:fs";

/** Loads a wire fixture from test/fixtures (written from the providers' API references). */
export function fixture<T>(path: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/${path}`, import.meta.url), "utf8")) as T;
}
