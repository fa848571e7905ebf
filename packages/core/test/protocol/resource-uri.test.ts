import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalResourceUri, isLoopbackHost, sameOrigin } from "../../src/protocol/index.js";

describe("canonicalResourceUri (RFC 8707 §2, SPEC A6)", () => {
  const ok: ReadonlyArray<readonly [string, string, string]> = [
    [
      "A6: keeps the most specific path",
      "https://mcp.example.com/mcp",
      "https://mcp.example.com/mcp",
    ],
    [
      "A6: lowercases scheme and host, accepts uppercase input",
      "HTTPS://MCP.Example.COM/Mcp",
      "https://mcp.example.com/Mcp",
    ],
    ["A6: root path — no trailing slash", "https://a.example/", "https://a.example"],
    ["A6: no path at all", "https://a.example", "https://a.example"],
    [
      "A6: trailing slash on a non-root path removed",
      "https://a.example/mcp/",
      "https://a.example/mcp",
    ],
    [
      "A6: several trailing slashes removed (idempotent)",
      "https://a.example/mcp//",
      "https://a.example/mcp",
    ],
    ["A6 [lib]: default https port dropped", "https://a.example:443/mcp", "https://a.example/mcp"],
    ["A6 [lib]: default http port dropped", "http://localhost:80/mcp", "http://localhost/mcp"],
    ["A6: non-default port kept", "https://a.example:8443/mcp", "https://a.example:8443/mcp"],
    ["A6: query kept (root)", "https://a.example/?tenant=1", "https://a.example?tenant=1"],
    [
      "A6: query kept (path with slash)",
      "https://a.example/mcp/?tenant=1",
      "https://a.example/mcp?tenant=1",
    ],
    ["A6: empty query dropped", "https://a.example/mcp?", "https://a.example/mcp"],
    ["A6: dot segments resolved", "https://a.example/x/../mcp", "https://a.example/mcp"],
    ["A10: IPv6 loopback", "http://[::1]:3000/mcp", "http://[::1]:3000/mcp"],
    [
      "A6: IDN host to punycode",
      "https://b\u00fccher.example/mcp",
      "https://xn--bcher-kva.example/mcp",
    ],
  ];
  for (const [name, input, uri] of ok) {
    it(`${name}: ${input}`, () => expect(canonicalResourceUri(input)).toEqual({ ok: true, uri }));
  }

  const bad: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["A6: fragment refused, not dropped", "https://a.example/mcp#frag", /fragment/],
    ["A6: empty fragment refused", "https://a.example/mcp#", /fragment/],
    ["A6: userinfo refused", "https://user:pw@a.example/mcp", /userinfo/],
    ["A6: empty userinfo refused", "https://@a.example/mcp", /userinfo/],
    ["A6: relative refused", "/mcp", /absolute/],
    ["A6: scheme-relative refused", "//a.example/mcp", /absolute/],
    ["A6: non-http scheme refused", "ftp://a.example/mcp", /absolute/],
    ["A6: javascript: refused", "javascript:alert(1)", /absolute/],
    ["A6: missing slashes refused", "https:a.example/mcp", /absolute/],
    ["A6: whitespace refused", " https://a.example/mcp", /whitespace/],
    ["A6: backslash refused", "https:\\\\a.example\\mcp", /backslash/],
    ["A6: empty", "", /empty/],
    ["A6: no host", "https:///mcp", /valid/],
    ["A6: bad port", "https://a.example:99999/", /valid/],
  ];
  for (const [name, input, reason] of bad) {
    it(`${name}: ${JSON.stringify(input)}`, () => {
      const r = canonicalResourceUri(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    });
  }

  it("A6: property — never throws, and a canonical URI is a fixed point", () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.string()), (input) => {
        const r = canonicalResourceUri(input);
        if (r.ok) {
          expect(canonicalResourceUri(r.uri)).toEqual(r);
          if (!r.uri.includes("?")) expect(r.uri.endsWith("/")).toBe(false);
          expect(r.uri).toMatch(/^https?:\/\//);
        }
      }),
    );
  });
});

describe("isLoopbackHost (RFC 8252 §7.3, §8.3; SPEC A10, X1)", () => {
  const table: ReadonlyArray<readonly [string, boolean]> = [
    ["localhost", true],
    ["LOCALHOST", true],
    ["127.0.0.1", true],
    ["127.255.0.9", true],
    ["127.1", true],
    ["::1", true],
    ["[::1]", true],
    ["0:0:0:0:0:0:0:1", true],
    ["128.0.0.1", false],
    ["127.0.0.256", false],
    ["10.0.0.1", false],
    ["[::2]", false],
    ["localhost.example", false],
    ["a.localhost", false],
    ["127.0.0.1:80", false],
    ["[::1]:80", false],
    ["evil@127.0.0.1", false],
    ["127.0.0.1/x", false],
    ["", false],
  ];
  for (const [host, expected] of table) {
    it(`${JSON.stringify(host)} → ${expected}`, () => expect(isLoopbackHost(host)).toBe(expected));
  }
});

describe("sameOrigin (RFC 6454)", () => {
  it("compares scheme, host and port after normalization", () => {
    expect(sameOrigin("https://A.example/mcp", "https://a.example:443/other?x")).toBe(true);
    expect(sameOrigin("https://a.example", "http://a.example")).toBe(false);
    expect(sameOrigin("https://a.example", "https://a.example:8443")).toBe(false);
    expect(sameOrigin("https://a.example", "https://b.a.example")).toBe(false);
    expect(sameOrigin("not a url", "not a url")).toBe(false);
    expect(sameOrigin("data:text/plain,x", "data:text/plain,x")).toBe(false);
  });
});
