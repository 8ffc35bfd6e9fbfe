import { drainLogs, type Logger } from "./logger.js";

type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Closers run last-registered-first, once, each bounded by the overall timeout.
 * Register a closer right after acquiring the resource it closes.
 */
export class Shutdown {
  private readonly closers: Closer[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  add(name: string, close: () => Promise<void> | void): void {
    this.closers.push({ name, close });
  }

  run(): Promise<void> {
    this.running ??= this.runOnce();
    return this.running;
  }

  private async runOnce(): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (const closer of this.closers.reverse()) {
      const remaining = Math.max(1, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.resolve().then(closer.close),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${remaining} ms`)), remaining);
          }),
        ]);
      } catch (err) {
        this.logger.warn({ err, closer: closer.name }, "shutdown step failed");
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/**
 * Wire SIGTERM/SIGINT to a stop function. A second signal exits at once.
 */
export function onSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    stop().then(
      async () => {
        await drainLogs();
        process.exit(0);
      },
      async (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        await drainLogs();
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
