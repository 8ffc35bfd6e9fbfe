import type { JsMsg } from "nats";
import { describe, expect, it } from "vitest";
import { handleUntilStuck } from "../src/index.js";

// handleUntilStuck: every message of a pull is either handled or handed back (nak) — none is left
// to wait out its ack wait in the consumer, whatever its handler does.
const pull = (n: number) => {
  const messages = Array.from({ length: n }, (_, seq) => ({ seq }) as unknown as JsMsg);
  return {
    messages,
    async *[Symbol.asyncIterator]() {
      yield* messages;
    },
  };
};

describe("handleUntilStuck", () => {
  it("handles each message until one answers false, then hands the rest back untried", async () => {
    const p = pull(4);
    const handled: JsMsg[] = [];
    const back: JsMsg[] = [];
    const n = await handleUntilStuck(
      p,
      async (m) => {
        handled.push(m);
        return handled.length < 2;
      },
      (m) => back.push(m),
    );
    expect(handled).toEqual(p.messages.slice(0, 2));
    expect(back).toEqual(p.messages.slice(2));
    expect(n).toBe(2);
  });

  it("hands back the message whose handler threw and the rest of the pull, then throws what it threw", async () => {
    const p = pull(3);
    const back: JsMsg[] = [];
    const boom = new Error("a handler's bug");
    const handler = (m: JsMsg): Promise<boolean> => {
      // Thrown synchronously, as a handler that is not an async function would.
      if (m.seq === 1) throw boom;
      return Promise.resolve(true);
    };
    await expect(handleUntilStuck(p, handler, (m) => back.push(m))).rejects.toBe(boom);
    expect(back).toEqual(p.messages.slice(1));
  });

  it("goes on handing back when a nak itself throws (a closed connection)", async () => {
    const p = pull(3);
    let tries = 0;
    const n = await handleUntilStuck(
      p,
      async () => false,
      () => {
        tries++;
        throw new Error("closed");
      },
    );
    expect(tries).toBe(2);
    expect(n).toBe(2);
  });
});
