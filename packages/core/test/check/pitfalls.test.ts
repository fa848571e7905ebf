/**
 * judgePitfalls over hand-built probe records: a well-configured server has none; each
 * misconfiguration is named once, with the evidence (URL, status, the offending value).
 */
import { describe, expect, it } from "vitest";
import {
  judgePitfalls,
  type Pitfall,
  type PitfallId,
  type ProbeRecord,
} from "../../src/check/index.js";
import {
  absentAt,
  asServer,
  asUrl,
  documentAt,
  goodAs,
  goodPrm,
  hop,
  issuer,
  oidcUrl,
  prmLookups,
  prmUrl,
  record,
  rootPrmUrl,
  serverUrl,
} from "./fixtures.js";

const ids = (r: ProbeRecord) => judgePitfalls(r).map((p) => p.id);
const only = (r: ProbeRecord, id: PitfallId): Pitfall => {
  const pitfalls = judgePitfalls(r);
  expect(pitfalls.map((p) => p.id)).toEqual([id]);
  return pitfalls[0] as Pitfall;
};

describe("judgePitfalls", () => {
  it("a well-configured server: none", () => {
    expect(judgePitfalls(record())).toEqual([]);
  });

  it("a server that asks for no token and publishes no metadata: nothing to judge", () => {
    expect(
      judgePitfalls(
        record({
          challenge: { hop: { method: "POST", url: serverUrl, status: 200 } },
          resourceMetadata: [absentAt(prmUrl, "path-aware"), absentAt(rootPrmUrl, "root")],
          legacy: true,
          authorizationServers: [{ issuer: "https://mcp.example.com", lookups: [] }],
        }),
      ),
    ).toEqual([]);
  });

  it("no S256: the advertised methods are the evidence; a missing member says so", () => {
    const plain = only(
      record({
        authorizationServers: [
          asServer({ ...goodAs, code_challenge_methods_supported: ["plain"] }),
        ],
      }),
      "no-s256",
    );
    expect(plain.severity).toBe("error");
    expect(plain.evidence).toEqual([
      { url: asUrl, status: 200, value: 'code_challenge_methods_supported: ["plain"]' },
    ]);
    const { code_challenge_methods_supported: _, ...withoutPkce } = goodAs;
    const absent = only(record({ authorizationServers: [asServer(withoutPkce)] }), "no-s256");
    expect(absent.evidence[0]?.value).toBe("code_challenge_methods_supported is absent");
    expect(absent.summary).toContain("does not advertise");
  });

  it("an issuer that does not match the one its metadata URL was built from", () => {
    const p = only(
      record({
        authorizationServers: [asServer({ ...goodAs, issuer: "https://as.example.com/" })],
      }),
      "issuer-mismatch",
    );
    expect(p.evidence).toEqual([
      { url: asUrl, status: 200, value: "issuer: https://as.example.com/" },
    ]);
    expect(p.see).toBe("https://www.rfc-editor.org/rfc/rfc8414#section-3.3");
  });

  it("a resource that is the origin (a parent) or another origin", () => {
    const parent = only(
      record({ resourceMetadata: prmLookups({ ...goodPrm, resource: "https://mcp.example.com" }) }),
      "resource-mismatch",
    );
    expect(parent.summary).toContain("same-origin relaxation");
    expect(parent.evidence).toEqual([
      { url: prmUrl, status: 200, value: "resource: https://mcp.example.com" },
    ]);
    const other = only(
      record({
        resourceMetadata: prmLookups({ ...goodPrm, resource: "https://evil.example/mcp" }),
      }),
      "resource-mismatch",
    );
    expect(other.summary).toContain("every client must refuse");
  });

  it("the canonical form of the server URL matches (RFC 8707: case, default port)", () => {
    const r = record({
      serverUrl: "HTTPS://MCP.example.com:443/mcp",
      canonical: serverUrl,
    });
    expect(ids(r)).toEqual([]);
  });

  it("no registration path: neither dynamic registration nor client ID metadata documents", () => {
    const { registration_endpoint: _, ...noDcr } = goodAs;
    const p = only(record({ authorizationServers: [asServer(noDcr)] }), "no-registration-path");
    expect(p.severity).toBe("warning");
    expect(
      ids(
        record({
          authorizationServers: [
            asServer({ ...noDcr, client_id_metadata_document_supported: true }),
          ],
        }),
      ),
    ).toEqual([]);
  });

  it("registration without the public client method 'none'", () => {
    const p = only(
      record({
        authorizationServers: [
          asServer({ ...goodAs, token_endpoint_auth_methods_supported: ["client_secret_basic"] }),
        ],
      }),
      "no-public-client-auth",
    );
    expect(p.evidence[0]?.value).toContain("client_secret_basic");
  });

  it("a resource that takes DPoP-bound tokens only, behind an AS that lists no proof algorithm", () => {
    const { dpop_signing_alg_values_supported: _, ...withoutDpop } = goodAs;
    const requiring = prmLookups({ ...goodPrm, dpop_bound_access_tokens_required: true });
    const r = record({
      resourceMetadata: requiring,
      authorizationServers: [asServer(withoutDpop)],
    });
    const p = only(r, "dpop-not-advertised");
    expect(p.severity).toBe("warning");
    expect(p.evidence).toEqual([
      { url: prmUrl, status: 200, value: "dpop_bound_access_tokens_required: true" },
      { url: asUrl, status: 200, value: "no dpop_signing_alg_values_supported" },
    ]);
    // The AS lists an algorithm, or the resource does not require DPoP: nothing to say.
    expect(ids(record({ resourceMetadata: requiring }))).toEqual([]);
    expect(ids({ ...r, resourceMetadata: prmLookups() })).toEqual([]);
  });

  it("challenge and PRM scopes the authorization server does not list", () => {
    const r = record({
      challenge: {
        hop: { method: "POST", url: serverUrl, status: 401 },
        challenge: { scheme: "Bearer", scope: ["files:read"], resourceMetadata: prmUrl },
      },
      resourceMetadata: prmLookups({ ...goodPrm, scopes_supported: ["mcp:read", "files:admin"] }),
    });
    const p = only(r, "scopes-not-listed");
    expect(p.evidence).toEqual([
      { url: asUrl, status: 200, value: "not listed: files:read files:admin" },
      { url: serverUrl, status: 401, value: "challenge scope: files:read" },
    ]);
    // No scopes_supported at the authorization server: nothing to compare with.
    const { scopes_supported: _, ...unlisted } = goodAs;
    expect(ids({ ...r, authorizationServers: [asServer(unlisted)] })).toEqual([]);
  });

  it("a path issuer only one discovery form finds; all three forms: fine", () => {
    const tenant = `${issuer}/t1`;
    const metadata = { ...goodAs, issuer: tenant };
    const forms = [
      [`${issuer}/.well-known/oauth-authorization-server/t1`, "oauth-authorization-server"],
      [`${issuer}/.well-known/openid-configuration/t1`, "openid-configuration"],
      [`${tenant}/.well-known/openid-configuration`, "openid-configuration"],
    ] as const;
    const prm = prmLookups({ ...goodPrm, authorization_servers: [tenant] });
    const onlyAppended = record({
      resourceMetadata: prm,
      authorizationServers: [
        {
          issuer: tenant,
          lookups: [
            absentAt(forms[0][0], forms[0][1]),
            absentAt(forms[1][0], forms[1][1]),
            documentAt(forms[2][0], forms[2][1], metadata),
          ],
        },
      ],
    });
    const p = only(onlyAppended, "path-issuer-one-form");
    expect(p.summary).toContain("OpenID Connect Discovery");
    expect(p.evidence.map((e) => e.status)).toEqual([404, 404, 200]);
    const everywhere = record({
      resourceMetadata: prm,
      authorizationServers: [
        { issuer: tenant, lookups: forms.map(([url, kind]) => documentAt(url, kind, metadata)) },
      ],
    });
    expect(ids(everywhere)).toEqual([]);
  });

  it("metadata behind a redirect: the hops are the evidence, and what is behind it", () => {
    const moved = "https://mcp.example.com/meta/prm.json";
    const r = record({
      resourceMetadata: [
        {
          url: prmUrl,
          source: "challenge",
          hops: [hop(prmUrl, 301, { location: moved }), hop(moved, 200)],
          outcome: { _tag: "Document", document: goodPrm },
        },
        absentAt(rootPrmUrl, "root"),
      ],
    });
    const p = only(r, "metadata-redirect");
    expect(p.evidence).toEqual([
      { url: prmUrl, status: 301, location: moved },
      { url: moved, status: 200 },
    ]);
    expect(p.summary).toContain(`behind it, at ${moved}`);
  });

  it("a 5xx before the document stops clients at that location", () => {
    const r = record({
      authorizationServers: [
        asServer(goodAs, [
          {
            url: asUrl,
            source: "oauth-authorization-server",
            hops: [hop(asUrl, 503)],
            outcome: { _tag: "Failed", problem: "answered 503" },
          },
          documentAt(oidcUrl, "openid-configuration", goodAs),
        ]),
      ],
    });
    const p = only(r, "discovery-stopped");
    expect(p.evidence).toEqual([{ url: asUrl, status: 503, value: "answered 503" }]);
  });

  it("no protected-resource metadata anywhere, or only at the 2025-03-26 fallback", () => {
    const none = [absentAt(prmUrl, "path-aware"), absentAt(rootPrmUrl, "root")];
    const p = only(
      record({
        resourceMetadata: none,
        legacy: true,
        authorizationServers: [{ issuer: "https://mcp.example.com", lookups: [] }],
      }),
      "resource-metadata-not-found",
    );
    expect(p.evidence.map((e) => [e.url, e.status])).toEqual([
      [prmUrl, 404],
      [rootPrmUrl, 404],
    ]);
    const legacyAs = { ...goodAs, issuer: "https://mcp.example.com" };
    const legacy = only(
      record({
        resourceMetadata: none,
        legacy: true,
        authorizationServers: [
          {
            issuer: "https://mcp.example.com",
            lookups: [
              documentAt(
                "https://mcp.example.com/.well-known/oauth-authorization-server",
                "oauth-authorization-server",
                legacyAs,
              ),
            ],
          },
        ],
      }),
      "resource-metadata-not-found",
    );
    expect(legacy.summary).toContain("2025-03-26");
  });

  it("no authorization servers in the metadata; an authorization server clients refuse", () => {
    expect(
      ids(
        record({
          resourceMetadata: prmLookups({ ...goodPrm, authorization_servers: [] }),
          authorizationServers: [],
        }),
      ),
    ).toEqual(["no-authorization-server"]);
    const p = only(
      record({
        authorizationServers: [
          { issuer: "http://as.example.com", refused: "plain http outside loopback", lookups: [] },
        ],
      }),
      "insecure-authorization-server",
    );
    expect(p.evidence).toEqual([
      { url: "http://as.example.com", value: "plain http outside loopback" },
    ]);
  });

  it("authorization server metadata found nowhere: every location tried is the evidence", () => {
    const p = only(
      record({
        authorizationServers: [
          asServer(goodAs, [
            absentAt(asUrl, "oauth-authorization-server"),
            absentAt(oidcUrl, "openid-configuration"),
          ]),
        ],
      }),
      "authorization-server-metadata-not-found",
    );
    expect(p.evidence.map((e) => e.url)).toEqual([asUrl, oidcUrl]);
  });

  it("an invalid document or a wrong content type stops clients; the rest is still judged", () => {
    const r = record({
      resourceMetadata: [
        {
          url: prmUrl,
          source: "challenge",
          hops: [hop(prmUrl, 200, { contentType: "text/html" })],
          outcome: { _tag: "Document", document: goodPrm, problem: 'content type "text/html"' },
        },
      ],
      authorizationServers: [asServer({ ...goodAs, code_challenge_methods_supported: ["plain"] })],
    });
    expect(ids(r)).toEqual(["invalid-metadata", "no-s256"]);
    const invalid = record({
      authorizationServers: [
        asServer(goodAs, [
          {
            url: asUrl,
            source: "oauth-authorization-server",
            hops: [hop(asUrl, 200)],
            outcome: {
              _tag: "Invalid",
              problem: "the document is not valid",
              issues: ["token_endpoint is missing"],
            },
          },
        ]),
      ],
    });
    const p = only(invalid, "invalid-metadata");
    expect(p.evidence[0]?.value).toBe("the document is not valid; token_endpoint is missing");
  });

  it("endpoints clients refuse; no authorization endpoint; no authorization code grant", () => {
    const { authorization_endpoint: _, ...noAuthorize } = goodAs;
    expect(
      ids(
        record({
          authorizationServers: [
            asServer({
              ...noAuthorize,
              token_endpoint: "http://as.example.com/token",
              grant_types_supported: ["client_credentials"],
            }),
          ],
        }),
      ),
    ).toEqual(["no-authorization-endpoint", "authorization-code-not-offered", "insecure-endpoint"]);
  });

  it("a 401 without a challenge; a challenge's resource_metadata that cannot be fetched", () => {
    expect(
      ids(record({ challenge: { hop: { method: "POST", url: serverUrl, status: 401 } } })),
    ).toEqual(["no-challenge"]);
    const p = only(
      record({
        challenge: {
          hop: { method: "POST", url: serverUrl, status: 401 },
          challenge: { scheme: "Bearer", scope: ["mcp:read"], resourceMetadata: "/relative" },
          ignoredResourceMetadata: {
            value: "/relative",
            reason: "resource_metadata is not an absolute URL",
          },
        },
      }),
      "unusable-resource-metadata-url",
    );
    expect(p.evidence[0]?.value).toBe("resource_metadata: /relative");
  });

  it("query values of the server URL never appear in a pitfall", () => {
    const secretUrl = `${serverUrl}?api_key=sk-live-SECRET`;
    const pitfalls = judgePitfalls(
      record({
        serverUrl: secretUrl,
        canonical: secretUrl,
        resourceMetadata: prmLookups({ ...goodPrm, resource: secretUrl.replace("mcp?", "other?") }),
      }),
    );
    expect(pitfalls.map((p) => p.id)).toEqual(["resource-mismatch"]);
    expect(JSON.stringify(pitfalls)).not.toContain("SECRET");
    expect(JSON.stringify(pitfalls)).toContain("api_key=…");
  });
});
