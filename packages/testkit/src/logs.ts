import { Writable } from "node:stream";
import { createLogger, type Logger } from "@gatehouse/kit";

/** Log lines kept in memory, so a test can assert what was (and was not) logged. */
export class LogSink {
  readonly lines: string[] = [];
  private readonly destination = new Writable({
    write: (chunk, _enc, cb) => {
      this.lines.push(String(chunk));
      cb();
    },
  });

  logger(service: string, level = "debug"): Logger {
    return createLogger({ level, service, destination: this.destination });
  }

  text(): string {
    return this.lines.join("");
  }
}

export function captureLogger(
  service = "test",
  level = "debug",
): { logger: Logger; lines: string[]; text(): string } {
  const sink = new LogSink();
  return { logger: sink.logger(service, level), lines: sink.lines, text: () => sink.text() };
}

/** The JSON log lines of a captured log's text (`captureLogger().text()`), each parsed. */
export function logEntries(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
