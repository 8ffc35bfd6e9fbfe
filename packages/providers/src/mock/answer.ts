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
  const format = request.response_format;
  const text =
    format?.type === "json_schema"
      ? JSON.stringify(mockValueForSchema(format.json_schema.schema ?? {}, lastText))
      : format?.type === "json_object"
        ? JSON.stringify({ text: lastText })
        : `mock: ${lastText}`;
  return { kind: "text", text, usage: usage(mockTokenCount(text)) };
}

/**
 * Structured output from the mock: a value of the schema's shape, strings filled with the last user
 * text, numbers with its word count, so a caller's schema parsing has something real to check.
 */
export function mockValueForSchema(schema: Record<string, unknown>, text: string, depth = 0): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (depth > 8) return null;
  switch (type) {
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, mockValueForSchema(value, text, depth + 1)]),
      );
    }
    case "array":
      return [mockValueForSchema((schema.items ?? {}) as Record<string, unknown>, text, depth + 1)];
    case "integer":
    case "number":
      return mockTokenCount(text);
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return text;
  }
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
