/**
 * collectAdvertised and reportProbe over hand-built records: what a server advertises, the
 * report's shape, and URLs shown without their query values.
 */
import { describe, expect, it } from "vitest";
import { collectAdvertised, reportProbe, shownUrl, walkAsClient } from "../../src/check/index.js";
import {
  absentAt,
  asServer,
  asUrl,
  documentAt,
  goodAs,
  hop,
  issuer,
  oidcUrl,
  prmUrl,
  record,
  rootPrmUrl,
  serverUrl,
} from "./fixtures.js";

describe("collectAdvertised", () => {
  it("the challenge, the resource metadata and each authorization server's options", () => {
    const advertised = collectAdvertised(record());
    expect(advertised.challenge).toEqual({
      status: 401,
      protected: true,
      scheme: "Bearer",
      error: undefined,
      scope: ["mcp:read"],
      resourceMetadata: prmUrl,
    });
    expect(advertised.resourceMetadata).toMatchObject({
      metadataUrl: prmUrl,
      redirected: false,
      resource: serverUrl,
      authorizationServers: [issuer],
    });
    expect(advertised.authorizationServers).toEqual([
      expect.objectContaining({
        issuer,
        metadataUrl: asUrl,
        foundAt: [asUrl, oidcUrl],
        registration: {
          preRegistered: true,
          clientIdMetadataDocument: false,
          dynamic: `${issuer}/register`,
        },
        pkceMethods: ["S256"],
        issParameter: true,
        dpopAlgorithms: ["ES256"],
        grantTypes: ["authorization_code", "refresh_token"],
      }),
    ]);
  });

  it("client ID metadata documents; a refused authorization server; metadata not found", () => {
    const { registration_endpoint: _, ...cimdOnly } = goodAs;
    const advertised = collectAdvertised(
      record({
        authorizationServers: [
          asServer({ ...cimdOnly, client_id_metadata_document_supported: true }),
          { issuer: "http://as.example.org", refused: "plain http outside loopback", lookups: [] },
          {
            issuer: "https://none.example",
            lookups: [
              absentAt(
                "https://none.example/.well-known/oauth-authorization-server",
                "oauth-authorization-server",
              ),
            ],
          },
        ],
      }),
    );
    const [cimd, refused, none] = advertised.authorizationServers;
    expect(cimd?.registration).toEqual({
      preRegistered: true,
      clientIdMetadataDocument: true,
      dynamic: undefined,
    });
    expect(refused).toEqual({
      issuer: "http://as.example.org",
      refused: "plain http outside loopback",
      foundAt: [],
    });
    expect(none).toEqual({ issuer: "https://none.example", foundAt: [] });
  });

  it("a document behind a redirect: where it was found, and that it was redirected", () => {
    const moved = "https://mcp.example.com/meta/prm.json";
    const advertised = collectAdvertised(
      record({
        resourceMetadata: [
          {
            url: prmUrl,
            source: "challenge",
            hops: [hop(prmUrl, 302, { location: moved }), hop(moved, 200)],
            outcome: {
              _tag: "Document",
              document: { resource: serverUrl, authorization_servers: [issuer] },
            },
          },
        ],
      }),
    );
    expect(advertised.resourceMetadata).toMatchObject({ metadataUrl: moved, redirected: true });
  });
});

describe("walkAsClient", () => {
  it("skips 4xx, stops at the first document, a redirect, or a failure", () => {
    const doc = documentAt(prmUrl, "path-aware", 1);
    expect(walkAsClient([absentAt(rootPrmUrl, "root"), doc])).toMatchObject({
      _tag: "Found",
      document: 1,
    });
    expect(walkAsClient([absentAt(rootPrmUrl, "root")])).toEqual({ _tag: "NothingFound" });
    const redirected = {
      ...absentAt(prmUrl, "path-aware"),
      hops: [hop(prmUrl, 301, { location: rootPrmUrl }), hop(rootPrmUrl, 404)],
    };
    expect(walkAsClient([redirected, doc])).toMatchObject({ _tag: "Stopped", lookup: redirected });
  });
});

describe("reportProbe", () => {
  it("a stable shape: schema, verdict, advertised, pitfalls, every request in order", () => {
    const report = reportProbe(record());
    expect(report.schema).toBe("authchart.probe/1");
    expect(report.verdict).toBe("clean");
    expect(report.exchanges.map((x) => [x.purpose, x.method, x.url, x.status])).toEqual([
      ["challenge", "POST", serverUrl, 401],
      ["resource-metadata", "GET", prmUrl, 200],
      ["resource-metadata", "GET", rootPrmUrl, 404],
      ["authorization-server-metadata", "GET", asUrl, 200],
      ["authorization-server-metadata", "GET", oidcUrl, 200],
    ]);
    const broken = reportProbe(
      record({
        authorizationServers: [asServer({ ...goodAs, code_challenge_methods_supported: [] })],
      }),
    );
    expect(broken.verdict).toBe("pitfalls");
  });
});

describe("shownUrl", () => {
  it("hides query values, keeps their names, drops userinfo and fragment; keeps the rest as written", () => {
    expect(shownUrl("https://mcp.example.com/mcp?api_key=SECRET&x=1")).toBe(
      "https://mcp.example.com/mcp?api_key=…&x=…",
    );
    expect(shownUrl("https://user:pw@as.example.com/t#frag")).toBe("https://as.example.com/t");
    expect(shownUrl("https://as.example.com")).toBe("https://as.example.com");
    expect(shownUrl("not a url")).toBe("not a url");
    expect(shownUrl("x".repeat(300))).toHaveLength(201);
  });
});
