#!/usr/bin/env node
/**
 * The relay floor: the least an HTTP → NATS → HTTP gateway can do — a node:http server that sends
 * the body over one NATS request/reply (the `nats` client as published) to a responder that posts it
 * to the upstream over a keep-alive undici Pool and answers with the upstream's status and body. No key, no
 * access check, no validation, no translation, no usage record, no logging. It shares Gatehouse's
 * shape (one NATS round trip and one upstream call per request), so Gatehouse's added latency
 * minus this target's is what Gatehouse's own work costs; this target's added latency is what the
 * architecture costs on the machine. Environment: PORT, NATS_URL, UPSTREAM (origin), SUBJECT.
 */
import { createServer } from "node:http";
import { connect } from "nats";
import { Pool } from "undici";

const upstream = new Pool(process.env.UPSTREAM ?? "", { connections: 128 });
const subject = process.env.SUBJECT ?? "relay.invoke";
const nc = await connect({ servers: process.env.NATS_URL ?? "127.0.0.1:4222", noAsyncTraces: true });
nc.subscribe(subject, {
  queue: subject,
  callback: (_err, msg) => {
    void upstream
      .request({
        method: "POST",
        path: "/v1/chat/completions",
        headers: { "content-type": "application/json" },
        body: msg.data,
      })
      .then(async (res) => {
        const body = Buffer.from(await res.body.arrayBuffer());
        const reply = Buffer.allocUnsafe(2 + body.length);
        reply.writeUInt16BE(res.statusCode, 0);
        body.copy(reply, 2);
        msg.respond(reply);
      })
      .catch(() => msg.respond(new Uint8Array(0)));
  },
});
await nc.flush();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    nc.request(subject, Buffer.concat(chunks), { timeout: 10_000 }).then(
      (reply) => {
        const data = Buffer.from(reply.data.buffer, reply.data.byteOffset, reply.data.byteLength);
        if (data.length < 2) return void res.writeHead(502).end();
        res.writeHead(data.readUInt16BE(0), { "content-type": "application/json" });
        res.end(data.subarray(2));
      },
      () => {
        res.writeHead(504).end();
      },
    );
  });
});
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ listening: server.address() })}\n`);
});
const stop = () => {
  server.close();
  void nc.drain().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();
