import { describe, expect, it } from "vitest";
import { embeddingsToBase64 } from "./client.js";

describe("embeddingsToBase64", () => {
  it("encodes float arrays as base64 little-endian float32, as OpenAI does", () => {
    const body = { object: "list", data: [{ object: "embedding", index: 0, embedding: [0.5, -1, 0.25] }] };
    const out = embeddingsToBase64(body) as { data: Array<{ embedding: string }> };
    const bytes = Buffer.from(out.data[0]?.embedding ?? "", "base64");
    expect([...new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)]).toEqual([
      0.5, -1, 0.25,
    ]);
    expect(out).toMatchObject({ object: "list", data: [{ object: "embedding", index: 0 }] });
  });

  it("leaves embeddings the upstream already encoded alone", () => {
    const body = { data: [{ embedding: "AAAAPw==" }] };
    expect(embeddingsToBase64(body)).toEqual(body);
  });
});
