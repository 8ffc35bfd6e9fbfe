import { describe, expect, it } from "vitest";
import { mergeRows, type SoakRow } from "./soak.js";

const row = (node: string, shape: string, process: string, peakMb: number): SoakRow => ({
  node,
  shape,
  process,
  idleMb: 90,
  afterWarmupMb: 100,
  endMb: 101,
  peakMb,
  firstHalfMb: 100,
  secondHalfMb: 101,
  reqPerS: 4321,
});

const doc = ["# Benchmarks", "", "<!-- soak:start -->", "<!-- soak:end -->", "", "after"].join("\n");

describe("the soak table", () => {
  it("keeps other Node versions' rows and replaces the same version and shape", () => {
    let text = mergeRows(doc, [row("v20.20.2", "one", "gatehouse", 130)], "first");
    text = mergeRows(text, [row("v22.23.3", "one", "gatehouse", 150)], "second");
    text = mergeRows(
      text,
      [row("v20.20.2", "separate", "dispatch", 120), row("v20.20.2", "separate", "ingress", 99)],
      "third",
    );
    text = mergeRows(text, [row("v20.20.2", "one", "gatehouse", 128)], "again");
    const rows = text.split("\n").filter((l) => l.startsWith("| v"));
    expect(rows).toEqual([
      "| v20.20.2 | one | gatehouse | 90 | 100 | 101 | 128 | 100 → 101 | 4,321 |",
      "| v20.20.2 | separate | dispatch | 90 | 100 | 101 | 120 | 100 → 101 | 4,321 |",
      "| v20.20.2 | separate | ingress | 90 | 100 | 101 | 99 | 100 → 101 | 4,321 |",
      "| v22.23.3 | one | gatehouse | 90 | 100 | 101 | 150 | 100 → 101 | 4,321 |",
    ]);
    const notes = text.split("\n").filter((l) => l.startsWith("- v"));
    expect(notes).toEqual([
      "- v20.20.2, one: again",
      "- v20.20.2, separate: third",
      "- v22.23.3, one: second",
    ]);
    expect(text.endsWith("<!-- soak:end -->\n\nafter")).toBe(true);
  });

  it("keeps a PGlite row apart from the same shape on Postgres, and gives older rows an empty idle cell", () => {
    const old = [
      "<!-- soak:start -->",
      "| v20.20.2 | one | gatehouse | 126 | 134 | 139 | 129 → 131 | 1,927 |",
      "<!-- soak:end -->",
    ].join("\n");
    const text = mergeRows(old, [row("v20.20.2", "one, PGlite", "gatehouse", 300)], "pglite");
    expect(text.split("\n").filter((l) => l.startsWith("| v"))).toEqual([
      "| v20.20.2 | one | gatehouse | – | 126 | 134 | 139 | 129 → 131 | 1,927 |",
      "| v20.20.2 | one, PGlite | gatehouse | 90 | 100 | 101 | 300 | 100 → 101 | 4,321 |",
    ]);
    expect(text).toContain("| node | shape | process | RSS idle after start, MB | RSS after warm-up, MB |");
  });

  it("refuses a document without the markers", () => {
    expect(() => mergeRows("# nothing", [row("v20.20.2", "one", "gatehouse", 1)], "x")).toThrow(/soak:start/);
  });
});
