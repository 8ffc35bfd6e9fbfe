import { describe, expect, it } from "vitest";
import { AccountModels, AccountName, isAccountName, PROVIDER_TYPES, ProviderType } from "../src/dispatch.js";

describe("provider account names", () => {
  it.each(["openai-main", "a", "0", "together-main", "x1-y2", "a".repeat(63)])("accepts %s", (name) => {
    expect(AccountName.safeParse(name).success).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["dot-dot", ".."],
    ["path traversal", "../x"],
    ["inner traversal", "a/../b"],
    ["slash", "openai/main"],
    ["backslash", "openai\\main"],
    ["dot", "openai.main"],
    ["uppercase", "OpenAI-Main"],
    ["leading dash", "-openai"],
    ["trailing dash", "openai-"],
    ["underscore", "openai_main"],
    ["space", "openai main"],
    ["trailing newline", "openai-main\n"],
    ["percent-encoding", "openai%2fmain"],
    ["Cyrillic o look-alike", "\u043epenai-main"],
    ["fullwidth letters", "\uff4fpenai-main"],
    ["dotless i", "gem\u0131ni"],
    ["zero-width space", "openai\u200b-main"],
    ["non-breaking hyphen", "openai\u2011main"],
    ["too long", "a".repeat(64)],
  ])("refuses %s", (_label, name) => {
    expect(AccountName.safeParse(name).success).toBe(false);
    expect(isAccountName(name)).toBe(false);
  });
});

describe("provider types and model lists", () => {
  it("keeps the provider types in one list", () => {
    expect(ProviderType.options).toEqual([...PROVIDER_TYPES]);
    expect(ProviderType.safeParse("vertex").success).toBe(false);
  });

  it("allows slashes in model names but not duplicates or whitespace", () => {
    expect(AccountModels.safeParse([{ name: "meta-llama/Llama-3-70b", kind: "chat" }]).success).toBe(true);
    expect(
      AccountModels.safeParse([
        { name: "m", kind: "chat" },
        { name: "m", kind: "embedding" },
      ]).success,
    ).toBe(false);
    expect(AccountModels.safeParse([{ name: "gpt 4", kind: "chat" }]).success).toBe(false);
    expect(AccountModels.safeParse([{ name: "m", kind: "image" }]).success).toBe(false);
  });
});
