import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  authorizationServerMetadataUrls,
  protectedResourceMetadataUrls,
} from "../../src/protocol/index.js";

const WK = "/.well-known/oauth-protected-resource";

describe("protectedResourceMetadataUrls (RFC 9728 §3.1, §5.1; SPEC D2-D4, E18)", () => {
  it("D3: path-aware then root", () => {
    expect(protectedResourceMetadataUrls("https://rs.example/mcp")).toEqual({
      candidates: [
        { url: `https://rs.example${WK}/mcp`, source: "path-aware" },
        { url: `https://rs.example${WK}`, source: "root" },
      ],
    });
  });

  it("D2: the challenge's resource_metadata comes first", () => {
    expect(
      protectedResourceMetadataUrls("https://rs.example/mcp", "https://meta.example/prm"),
    ).toEqual({
      candidates: [
        { url: "https://meta.example/prm", source: "challenge" },
        { url: `https://rs.example${WK}/mcp`, source: "path-aware" },
        { url: `https://rs.example${WK}`, source: "root" },
      ],
    });
  });

  it("D3: root MCP URL — no path-aware candidate", () => {
    for (const resource of ["https://rs.example", "https://rs.example/"]) {
      expect(protectedResourceMetadataUrls(resource).candidates).toEqual([
        { url: `https://rs.example${WK}`, source: "root" },
      ]);
    }
  });

  it("D4: a trailing slash of the path is stripped before inserting", () => {
    expect(protectedResourceMetadataUrls("https://rs.example/mcp/").candidates[0]?.url).toBe(
      `https://rs.example${WK}/mcp`,
    );
  });

  it("D4: the query is kept, on the path-aware and the root URL", () => {
    expect(protectedResourceMetadataUrls("https://rs.example/mcp?tenant=1").candidates).toEqual([
      { url: `https://rs.example${WK}/mcp?tenant=1`, source: "path-aware" },
      { url: `https://rs.example${WK}?tenant=1`, source: "root" },
    ]);
  });

  it("D4: root with a query — path-aware and root coincide, listed once", () => {
    expect(protectedResourceMetadataUrls("https://rs.example/?t=1").candidates).toEqual([
      { url: `https://rs.example${WK}?t=1`, source: "root" },
    ]);
  });

  it("D4: uppercase host and default port normalized; fragment and userinfo not copied", () => {
    expect(protectedResourceMetadataUrls("HTTPS://u:p@RS.Example:443/Mcp#frag").candidates).toEqual(
      [
        { url: `https://rs.example${WK}/Mcp`, source: "path-aware" },
        { url: `https://rs.example${WK}`, source: "root" },
      ],
    );
  });

  it("no duplicates: a resource_metadata equal to a well-known URL is listed once, as challenge", () => {
    expect(
      protectedResourceMetadataUrls("https://rs.example/mcp", `https://rs.example${WK}/mcp`),
    ).toEqual({
      candidates: [
        { url: `https://rs.example${WK}/mcp`, source: "challenge" },
        { url: `https://rs.example${WK}`, source: "root" },
      ],
    });
  });

  it("X1: http resource_metadata on loopback is accepted", () => {
    expect(
      protectedResourceMetadataUrls("http://127.0.0.1:3000/mcp", "http://127.0.0.1:3000/prm")
        .candidates[0],
    ).toEqual({ url: "http://127.0.0.1:3000/prm", source: "challenge" });
    expect(
      protectedResourceMetadataUrls("http://localhost:3000/mcp", "http://localhost:3000/prm")
        .candidates[0]?.source,
    ).toBe("challenge");
  });

  const ignored: ReadonlyArray<readonly [string, string, RegExp]> = [
    ["E18: relative resource_metadata", "/.well-known/oauth-protected-resource", /absolute/],
    ["E18: non-https resource_metadata", "http://meta.example/prm", /https/],
    ["E18: unparseable resource_metadata", "https://exa mple.com:99999", /absolute/],
    ["E18: empty resource_metadata", "", /empty/],
    ["E18: non-http scheme", "file:///etc/passwd", /https/],
    ["E18: userinfo", "https://u:p@meta.example/prm", /userinfo/],
  ];
  for (const [name, value, reason] of ignored) {
    it(`${name} is ignored with a reason and probing continues`, () => {
      const r = protectedResourceMetadataUrls("https://rs.example/mcp", value);
      expect(r.candidates).toEqual([
        { url: `https://rs.example${WK}/mcp`, source: "path-aware" },
        { url: `https://rs.example${WK}`, source: "root" },
      ]);
      expect(r.ignoredResourceMetadata?.value).toBe(value);
      expect(r.ignoredResourceMetadata?.reason).toMatch(reason);
    });
  }

  it("an invalid resource URL yields no well-known candidates", () => {
    expect(protectedResourceMetadataUrls("not a url")).toEqual({ candidates: [] });
    expect(protectedResourceMetadataUrls("ftp://rs.example/mcp")).toEqual({ candidates: [] });
    expect(protectedResourceMetadataUrls("/mcp", "https://meta.example/prm")).toEqual({
      candidates: [{ url: "https://meta.example/prm", source: "challenge" }],
    });
  });

  it("property — never throws, no duplicates, root always last for http(s) resources", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string()),
        fc.option(fc.oneof(fc.webUrl({ withFragments: true }), fc.string()), { nil: undefined }),
        (resource, meta) => {
          const r = protectedResourceMetadataUrls(resource, meta);
          const urls = r.candidates.map((c) => c.url);
          expect(new Set(urls).size).toBe(urls.length);
          for (const c of r.candidates) expect(c.url).not.toContain("#");
          if (meta !== undefined) {
            const fromChallenge = r.candidates.some((c) => c.source === "challenge");
            expect(fromChallenge !== (r.ignoredResourceMetadata !== undefined)).toBe(true);
          }
        },
      ),
    );
  });
});

describe("authorizationServerMetadataUrls (RFC 8414 §3.1, OIDC Discovery §4; SPEC D10, D11)", () => {
  it("D10: issuer with a path — three URLs in order", () => {
    expect(authorizationServerMetadataUrls("https://as.example/t1")).toEqual([
      {
        url: "https://as.example/.well-known/oauth-authorization-server/t1",
        kind: "oauth-authorization-server",
      },
      {
        url: "https://as.example/.well-known/openid-configuration/t1",
        kind: "openid-configuration",
      },
      {
        url: "https://as.example/t1/.well-known/openid-configuration",
        kind: "openid-configuration",
      },
    ]);
  });

  it("D11: issuer without a path — two URLs in order", () => {
    expect(authorizationServerMetadataUrls("https://as.example")).toEqual([
      {
        url: "https://as.example/.well-known/oauth-authorization-server",
        kind: "oauth-authorization-server",
      },
      { url: "https://as.example/.well-known/openid-configuration", kind: "openid-configuration" },
    ]);
  });

  it("D11: issuer with a trailing / is stripped first (root)", () => {
    expect(authorizationServerMetadataUrls("https://as.example/")).toEqual(
      authorizationServerMetadataUrls("https://as.example"),
    );
  });

  it("D10: issuer with a path and a trailing / is stripped first", () => {
    expect(authorizationServerMetadataUrls("https://as.example/t1/")).toEqual(
      authorizationServerMetadataUrls("https://as.example/t1"),
    );
  });

  it("D10: multi-segment path, non-default port, path case kept", () => {
    expect(
      authorizationServerMetadataUrls("https://AS.example:8443/Realms/Dev").map((c) => c.url),
    ).toEqual([
      "https://as.example:8443/.well-known/oauth-authorization-server/Realms/Dev",
      "https://as.example:8443/.well-known/openid-configuration/Realms/Dev",
      "https://as.example:8443/Realms/Dev/.well-known/openid-configuration",
    ]);
  });

  it("invalid issuer → []", () => {
    for (const issuer of [
      "",
      "as.example",
      "/t1",
      "ftp://as.example",
      "https://as.example/t1?x=1",
      "https://as.example/#f",
      "https://u:p@as.example",
      "not a url",
    ]) {
      expect(authorizationServerMetadataUrls(issuer)).toEqual([]);
    }
  });

  it("property — never throws; 0, 2 or 3 candidates", () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl(), fc.string()), (issuer) => {
        expect([0, 2, 3]).toContain(authorizationServerMetadataUrls(issuer).length);
      }),
    );
  });
});
