/**
 * The rule for text a server chose (output.ts): sanitized on a terminal whatever the colour
 * setting, as is only into a plain pipe; bidi controls count as controls; --json escapes what
 * JSON.stringify leaves raw without changing the value.
 */
import { describe, expect, it } from "vitest";
import { inertJson, sanitize, sanitizesUntrusted } from "../src/output.js";

describe("text a server chose", () => {
  it("is sanitized on a terminal with or without colour, and wherever colour is forced", () => {
    expect(sanitizesUntrusted({ isTTY: true }, false)).toBe(true); // NO_COLOR, TERM=dumb
    expect(sanitizesUntrusted({ isTTY: true }, true)).toBe(true);
    expect(sanitizesUntrusted({ isTTY: false }, true)).toBe(true); // FORCE_COLOR into a pager
    expect(sanitizesUntrusted({}, false)).toBe(false); // a pipe: data, as is
  });

  it("loses its C0, C1 and bidi controls, keeps tab, newline and other text", () => {
    expect(sanitize("\u001b[2J\u001b]0;T\u0007\u009b\r")).toBe("?[2J?]0;T???");
    expect(sanitize("a\u202ab\u202ec\u2066d\u2069e\u200ef\u200fg\u061ch")).toBe("a?b?c?d?e?f?g?h");
    expect(sanitize("tab\tnew\nline, été, 東京, שלום")).toBe("tab\tnew\nline, été, 東京, שלום");
  });

  it("in a JSON document: C1 and bidi controls escaped, the same value", () => {
    const value = { text: "x\u009b2J\u202eevil\u2067\u001b" };
    const json = inertJson(value);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: none may stay raw
    expect(json).not.toMatch(/[\u001b\u009b\u202e\u2067]/);
    expect(JSON.parse(json)).toEqual(value);
  });
});
