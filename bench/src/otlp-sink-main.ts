#!/usr/bin/env node
/**
 * An OTLP/HTTP receiver for the tracing figure: answers every export with 200 and keeps nothing but
 * counts (`GET /stats`). Its own process, like the mock upstream, so receiving the spans does not
 * share an event loop with the load generator.
 */
import { createServer } from "node:http";

const stats = { requests: 0, bytes: 0 };
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  req.on("data", (chunk: Buffer) => {
    stats.bytes += chunk.byteLength;
  });
  req.on("end", () => {
    stats.requests++;
    // An empty ExportTraceServiceResponse, in either encoding the exporter sent.
    const json = String(req.headers["content-type"]).includes("json");
    res
      .writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" })
      .end(json ? "{}" : "");
  });
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.once("SIGTERM", () => server.close(() => process.exit(0)));
