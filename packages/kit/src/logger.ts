import { createRequire } from "node:module";
import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/**
 * Paths redacted from every log line. Keys, provider credentials and auth headers never reach a log,
 * even when a caller logs a whole request or config object by mistake.
 */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  "apiKey",
  "*.apiKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "password",
  "*.password",
  "credentials",
  "*.credentials",
  "masterKey",
  "*.masterKey",
];

/**
 * What a database error would otherwise put in a log line: drizzle's query error carries the bound
 * values (a kept response's prompt, for one) in `params` and in its message; Postgres errors
 * (postgres.js, PGlite) carry row values in `detail` ("Failing row contains (...)") and `where`.
 */
const DB_VALUE_FIELDS = new Set(["params", "parameters", "detail", "where", "query", "cause"]);

function frames(stack: string | undefined): string {
  return (stack ?? "")
    .split("\n")
    .filter((line) => line.startsWith("    at "))
    .join("\n");
}

/** An error chain with every bound value a database put into it taken out; other errors as they are. */
export function withoutQueryValues(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  const isQuery = "params" in err && "query" in err;
  const isDb = "severity" in err;
  const cause = err.cause instanceof Error ? withoutQueryValues(err.cause, depth + 1) : err.cause;
  if (!isQuery && !isDb && cause === err.cause) return err;
  const message = isQuery ? `Failed query: ${String((err as { query: unknown }).query)}` : err.message;
  const copy = new Error(message) as Error & Record<string, unknown>;
  copy.name = err.name;
  copy.stack = `${err.name}: ${message}\n${frames(err.stack)}`;
  for (const [key, value] of Object.entries(err)) {
    if (!(isQuery || isDb) || !DB_VALUE_FIELDS.has(key)) copy[key] = value;
  }
  if (cause !== undefined) copy.cause = cause;
  return copy;
}

export const LOG_FORMATS = ["auto", "json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Whether log lines are written for a person: asked for (`pretty`), or `auto` with stdout a
 * terminal (`pnpm start` in a shell). Piped, redirected or under a supervisor it stays JSON, which
 * log collectors parse.
 */
export function prettyLogs(format: LogFormat, stdoutIsTTY: boolean | undefined): boolean {
  return format === "pretty" || (format === "auto" && stdoutIsTTY === true);
}

export interface LoggerConfig {
  level: string;
  service: string;
  /** Write here instead of stdout (tests capture logs this way). */
  destination?: pino.DestinationStream;
  /** Human-readable lines on stdout (see `prettyLogs`); ignored with a `destination`. */
  pretty?: boolean;
  /**
   * JSON on stdout is buffered up to `STDOUT_BUFFER_BYTES` and written at least this often (ms);
   * 0 writes every line as it comes. Default `DEFAULT_LOG_FLUSH_MS`. The first logger of a process
   * that writes JSON to stdout sets it for all (they share one buffer).
   */
  flushMs?: number;
}

/** How often buffered JSON lines are written at the latest (`LOG_FLUSH_MS`'s default). */
export const DEFAULT_LOG_FLUSH_MS = 100;
/**
 * Lines wait until this many bytes are pending (or `flushMs` passed), then go out in one write.
 * Each write costs a hand-off to libuv's thread pool, the syscall, waking the reader and the
 * completion back on the event loop: at 32 KiB (some eighty access lines) that comes a quarter as
 * often as at the 8 KiB it was.
 */
export const STDOUT_BUFFER_BYTES = 32 * 1024;
/** The most one write takes (what waits beyond it goes out in the next): a pipe holds 64 KiB. */
const STDOUT_MAX_WRITE_BYTES = 64 * 1024;
/**
 * What may wait for stdout at most. A reader that stops reading (a stuck log shipper) would
 * otherwise grow the process without bound; lines beyond it are dropped, and said so on stderr.
 */
export const STDOUT_MAX_PENDING_BYTES = 16 * 1024 * 1024;
const DROP_NOTE_INTERVAL_MS = 60_000;

/** sonic-boom in `contentMode: "buffer"`, which takes Buffers (its type says strings). */
type BufferStream = Omit<ReturnType<typeof pino.destination>, "write"> & { write(chunk: Buffer): boolean };

let stdoutStream: BufferStream | undefined;
/** What loggers write to: each line handed to `stdoutStream` as the bytes it will write. */
let stdoutLines: pino.DestinationStream | undefined;
/** Set once a write to stdout failed for good: nothing is written there any more. */
let stdoutBroken = false;

/**
 * The process's one JSON stdout stream, shared by every logger in it (the one-process shape has one
 * per service): one buffer, so lines of different services never interleave mid-line and go out
 * together. Lines gather until `STDOUT_BUFFER_BYTES` or `flushMs`, instead of one write (and one
 * wake-up of the reader) per line. pino writes what is pending synchronously when the process
 * exits (`process.exit`, the end of a graceful stop); a `kill -9` loses what was pending: at most
 * the lines of the last `flushMs`, about `STDOUT_BUFFER_BYTES` unless stdout was falling behind.
 *
 * sonic-boom holds the lines as Buffers (`contentMode: "buffer"`): each line is encoded once, when
 * it is written, and a write joins them. Held as text it appends each line to a string and measures
 * that string's UTF-8 length again per line (a copy of all that waits, each line), then encodes the
 * whole text for the write and once more after it.
 */
function stdoutDestination(flushMs: number): pino.DestinationStream {
  if (stdoutLines) return stdoutLines;
  const stream = pino.destination({
    dest: 1,
    sync: false,
    contentMode: "buffer",
    maxLength: STDOUT_MAX_PENDING_BYTES,
    maxWrite: STDOUT_MAX_WRITE_BYTES,
    ...(flushMs > 0 ? { minLength: STDOUT_BUFFER_BYTES } : {}),
  }) as unknown as BufferStream;
  if (flushMs > 0) {
    // Not sonic-boom's `periodicFlush`: it writes each tick whether or not anything waits (an empty
    // write through the thread pool, ten a second, on an idle process). This one writes what waits.
    const timer = setInterval(() => {
      if (!stdoutBroken && pendingBytes(stream) > 0) stream.flush();
    }, flushMs);
    timer.unref();
  }
  let dropped = 0;
  let noted = 0;
  stream.on("drop", () => {
    dropped++;
    const now = Date.now();
    if (now - noted < DROP_NOTE_INTERVAL_MS) return;
    noted = now;
    process.stderr.write(
      `gatehouse: stdout is not keeping up: ${dropped} log line(s) dropped so far (over ${STDOUT_MAX_PENDING_BYTES} bytes pending)\n`,
    );
  });
  // A write that fails for good (ENOSPC on a full disk, EIO, EBADF; pino handles EPIPE alike): the
  // stream would throw it as an uncaught error, and the exit that follows spins for ever retrying the
  // write in sonic-boom's synchronous flush. Lines go nowhere from then on, said once on stderr, and
  // the process goes on serving.
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (stdoutBroken) return;
    stdoutBroken = true;
    const noop = () => {};
    Object.assign(stream, { write: noop, flush: noop, flushSync: noop, end: noop });
    // The reader left (EPIPE): stderr most likely went with it, and pino stops as quietly.
    if (err.code === "EPIPE") return;
    process.stderr.write(
      `gatehouse: stdout failed (${err.code ?? err.message}): log lines are no longer written\n`,
    );
  });
  stdoutStream = stream;
  // Read at each line, not bound once: a failed stream's `write` is replaced by a no-op (above).
  stdoutLines = {
    write: (line: string) => stream.write(Buffer.from(line)),
    flush: (cb?: (err?: Error) => void) => stream.flush(cb),
  } as pino.DestinationStream;
  return stdoutLines;
}

/**
 * What a stdout stream holds unwritten. sonic-boom keeps it in `_len` and has no public getter; a
 * stream without one counts as always holding something (flushed every tick, never left waiting).
 */
function pendingBytes(stream: object): number {
  const held = (stream as { _len?: unknown })._len;
  return typeof held === "number" ? held : 1;
}

/** How long a graceful stop waits for stdout to take the buffered lines before it exits regardless. */
const LOG_DRAIN_MS = 2_000;

/**
 * Resolves once the stdout buffer is written (or after `LOG_DRAIN_MS`: a reader that stopped reading
 * does not hold a stop). A graceful stop awaits it before `process.exit`: the synchronous write at
 * exit does not wait for a write still in flight, so it would put the newest lines out before it
 * (out of order), and the process could end before that write was done (lost).
 */
export async function drainLogs(): Promise<void> {
  const stream = stdoutStream;
  if (!stream) return;
  const deadline = Date.now() + LOG_DRAIN_MS;
  while (!stdoutBroken && pendingBytes(stream) > 0 && Date.now() < deadline) {
    try {
      // Starts the write of what waits unless one is in flight (then it comes after that one).
      stream.flush();
    } catch {
      return; // destroyed: nothing more will be written
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * pino-pretty, loaded only by a process that writes for a terminal. It formats in this thread
 * (no worker): a terminal is read by a person, not pushed at the throughput a collector takes.
 */
function prettyStream(): pino.DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require("pino-pretty") as (options: Record<string, unknown>) => pino.DestinationStream;
  return pretty({
    colorize: true,
    sync: true,
    singleLine: true,
    translateTime: "SYS:HH:MM:ss.l",
    ignore: "pid,hostname",
  });
}

let isoSecond = Number.NaN;
let isoPrefix = "";

/**
 * pino's `timestamp` in its `isoTime` form (`,"time":"2026-11-30T02:41:07.512Z"`), without a `Date`
 * and a `toISOString()` per line: the text up to the second is made once a second and the
 * milliseconds appended. It is on every line, the access line's included.
 */
export function isoTime(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    // "2026-11-30T02:41:07." — the seconds of a `toISOString()`, its dot included.
    isoPrefix = `,"time":"${new Date(second * 1000).toISOString().slice(0, -4)}`;
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    base: { service: config.service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: { err: (err: unknown) => pino.stdSerializers.err(withoutQueryValues(err) as Error) },
    timestamp: () => isoTime(),
  };
  if (config.destination) return pino(options, config.destination);
  if (config.pretty) return pino(options, prettyStream());
  return pino(options, stdoutDestination(config.flushMs ?? DEFAULT_LOG_FLUSH_MS));
}

/** The fields of a fixed line: flat, each a string, a finite number, a boolean or null. */
export type LineValues = Record<string, string | number | boolean | null>;
type Level = "fatal" | "error" | "warn" | "info" | "debug" | "trace";

interface PinoInternals {
  [key: symbol]: unknown;
}
const { streamSym, chindingsSym, timeSym, messageKeySym } = pino.symbols;

/**
 * A writer for one kind of line written very often (the access line, once per request) whose fields
 * are fixed, flat and never secret: identifiers, counts, times. It writes what `logger[level](values,
 * msg)` would (the same level, time, bindings and message key, to the logger's destination) without
 * pino's per-call work for arbitrary objects: the redaction pass, which copies the object and was
 * most of the access line's cost, and the generic serialiser. Its type takes no objects, so no header
 * or body can be put into it; every other line goes through the logger as usual.
 */
export function fixedLine<V extends LineValues>(
  msg: string,
): (logger: Logger, level: Level, values: V) => void {
  const message = JSON.stringify(msg);
  return (logger, level, values) => {
    if (!logger.isLevelEnabled(level)) return;
    const internals = logger as unknown as PinoInternals;
    const stream = internals[streamSym] as pino.DestinationStream | undefined;
    // Not a pino logger of ours (a stand-in in a test, say): the ordinary way.
    if (stream === undefined) return logger[level]<LineValues>(values, msg);
    const time = (internals[timeSym] as () => string)();
    const chindings = internals[chindingsSym] as string;
    const messageKey = JSON.stringify(internals[messageKeySym]);
    const fields = JSON.stringify(values).slice(1, -1);
    stream.write(
      `{"level":${logger.levels.values[level]}${time}${chindings}${fields === "" ? "" : `,${fields}`},${messageKey}:${message}}\n`,
    );
  };
}
