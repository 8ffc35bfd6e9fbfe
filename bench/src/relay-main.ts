#!/usr/bin/env node
/**
 * The relay floor: the least an HTTP → NATS → HTTP gateway can do — a node:http server that sends
 * the body over one NATS request/reply (the `nats` client as published) to a responder that posts it
 * to the upstream over a keep-alive undici Pool and answers with the upstream's status and body. No key, no
 * access check, no validation, no translation, no usage record, no logging. It shares Gatehouse's
 * shape (one NATS round trip and one upstream call per request), so Gatehouse's added latency
 * minus this target's is what Gatehouse's own work costs; this target's added latency is what the
 * architecture costs on the machine. A streaming request (`"stream":true` in the body) is relayed
 * the same way Gatehouse relays one: each piece of the upstream body the responder reads is one
 * NATS message to the caller's inbox, written to the client as it arrives; an empty message ends
 * it. Environment: PORT, NATS_URL, UPSTREAM (origin), SUBJECT.
 */
import { createServer, type ServerResponse } from "node:http";
import { connect, createInbox, type Msg, headers as natsHeaders } from "nats";
import { Pool } from "undici";

const upstream = new Pool(process.env.UPSTREAM ?? "", { connections: 128 });
const subject = process.env.SUBJECT ?? "relay.invoke";
const post = (body: Uint8Array) =>
  upstream.request({
    method: "POST",
    path: "/v1/chat/completions",
    headers: { "content-type": "application/json" },
    body,
  });
const nc = await connect({ servers: process.env.NATS_URL ?? "127.0.0.1:4222", noAsyncTraces: true });
nc.subscribe(subject, {
  queue: subject,
  callback: (_err, msg) => {
    if (msg.headers?.get("stream") === "1") return void relayStream(msg);
    void post(msg.data)
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

/** Responder side of a stream: status first (2 bytes + the first piece), then pieces, then empty. */
function relayStream(msg: Msg): void {
  const reply = msg.reply;
  if (!reply) return;
  void post(msg.data)
    .then(async (res) => {
      let first = true;
      for await (const piece of res.body) {
        if (first) {
          const head = Buffer.allocUnsafe(2 + (piece as Buffer).length);
          head.writeUInt16BE(res.statusCode, 0);
          (piece as Buffer).copy(head, 2);
          nc.publish(reply, head);
          first = false;
        } else nc.publish(reply, piece as Buffer);
      }
      nc.publish(reply, new Uint8Array(0));
    })
    .catch(() => nc.publish(reply, new Uint8Array(0)));
}

/** Caller side of a stream: one inbox subscription per stream, as the published client does it. */
function callStream(body: Buffer, res: ServerResponse): void {
  const inbox = createInbox();
  let started = false;
  const sub = nc.subscribe(inbox, {
    callback: (_err, m) => {
      const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      if (data.length === 0) {
        sub.unsubscribe();
        if (!started) res.writeHead(502);
        res.end();
        return;
      }
      if (!started) {
        started = true;
        res.writeHead(data.readUInt16BE(0), { "content-type": "text/event-stream" });
        res.write(data.subarray(2));
      } else res.write(data);
    },
  });
  const headers = natsHeaders();
  headers.set("stream", "1");
  nc.publish(subject, body, { reply: inbox, headers });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (body.includes('"stream":true')) return callStream(body, res);
    nc.request(subject, body, { timeout: 10_000 }).then(
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
