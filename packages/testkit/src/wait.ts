/** Poll `check` until it returns true or the bounded time runs out. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  stepMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A gate a unit test holds shut to keep reads "on their way": the code under test awaits `passed()`
 * (nothing while the gate is open), and `hold()` shuts it until the function it returns is called.
 */
export class Gate {
  private shut: Promise<void> | undefined;

  passed(): Promise<void> | undefined {
    return this.shut;
  }

  hold(): () => void {
    let release = () => {};
    this.shut = new Promise<void>((r) => {
      release = r;
    });
    return () => {
      this.shut = undefined;
      release();
    };
  }
}
