import { createHash } from "node:crypto";
import type { OpenAIChatRequest, OpenAIContentPart, OpenAIMessage } from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";

/** Deterministic stand-in for a model: what the built-in `mock` provider answers. */

export function mockTokenCount(text: string): number {
  const words = text.trim().split(/\s+/).filter(Boolean).length;
  return words;
}

function textOf(content: string | OpenAIContentPart[] | null | undefined): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .filter((part): part is { type: "text"; text: string } => part.type === "text")
    .map((part) => part.text)
    .join(" ");
}

export type MockAnswer =
  | { kind: "text"; text: string; usage: Usage }
  | { kind: "tool"; name: string; arguments: string; usage: Usage };

export function mockChatAnswer(request: OpenAIChatRequest): MockAnswer {
  const messages = request.messages as OpenAIMessage[];
  const promptTokens = messages.reduce((sum, m) => sum + mockTokenCount(textOf(m.content)) + 1, 0);
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const lastText = textOf(lastUser?.content);
  const last = messages.at(-1);
  const usage = (completion: number): Usage => ({
    promptTokens,
    completionTokens: completion,
    totalTokens: promptTokens + completion,
  });
  if (last?.role === "tool") {
    const text = `mock: tool said ${textOf(last.content)}`;
    return { kind: "text", text, usage: usage(mockTokenCount(text)) };
  }
  const wanted = /\bcall\s+([A-Za-z0-9_-]+)/i.exec(lastText)?.[1];
  const tool = request.tools?.find((t) => t.function.name === wanted);
  if (tool !== undefined && request.tool_choice !== "none") {
    const args = JSON.stringify({ text: lastText });
    return { kind: "tool", name: tool.function.name, arguments: args, usage: usage(mockTokenCount(args)) };
  }
  const text = `mock: ${lastText}`;
  return { kind: "text", text, usage: usage(mockTokenCount(text)) };
}

/** A unit vector from SHA-256 of the text: equal texts embed equally, different ones almost never. */
export function mockEmbedding(text: string, dims = 8): number[] {
  const digest = createHash("sha256").update(text).digest();
  const raw = Array.from({ length: dims }, (_, i) => ((digest[i % digest.length] ?? 0) - 127.5) / 127.5);
  const norm = Math.hypot(...raw) || 1;
  return raw.map((v) => Math.round((v / norm) * 1e6) / 1e6);
}

export function mockToolCallId(name: string, text: string): string {
  return `call_${createHash("sha256").update(`${name}\n${text}`).digest("hex").slice(0, 24)}`;
}
