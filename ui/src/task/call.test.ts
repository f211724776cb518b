import { describe, expect, it } from "vitest";
import { callSnippet, pyString, toPython } from "./call";

describe("toPython", () => {
  it("writes JSON values as Python literals", () => {
    expect(toPython([1, 2.5, null, true, false, "x", { a: [1], "b'": {} }])).toBe(
      `[1, 2.5, None, True, False, 'x', {'a': [1], "b'": {}}]`,
    );
  });
});

describe("pyString", () => {
  it.each([
    ["plain", "'plain'"],
    ["it's", `"it's"`],
    [`both ' and "`, `'both \\' and "'`],
    ["back\\slash", "'back\\\\slash'"],
    ["line\nbreak\ttab\u0001", "'line\\nbreak\\ttab\\x01'"],
    ["<img src=x onerror=alert(1)>", "'<img src=x onerror=alert(1)>'"],
    ["naïve ✓", "'naïve ✓'"],
  ])("%s", (text, python) => {
    expect(pyString(text)).toBe(python);
  });
});

describe("callSnippet", () => {
  it("builds apply_async with the recorded arguments", () => {
    expect(callSnippet("proj.add", [2, 3], { debug: true })).toBe(
      "app.signature('proj.add').apply_async(args=[2, 3], kwargs={'debug': True})",
    );
  });

  it("defaults missing arguments to empty", () => {
    expect(callSnippet("t", undefined, null)).toBe("app.signature('t').apply_async(args=[], kwargs={})");
  });

  it("gives up on arguments it cannot reproduce", () => {
    expect(callSnippet("t", "(1, 2)", {})).toBeUndefined();
    expect(callSnippet("t", [], [])).toBeUndefined();
    expect(callSnippet(null, [], {})).toBeUndefined();
  });
});
