/**
 * probeServer against testkit's misconfigured servers (real HTTP on loopback): it records every
 * request, follows redirects to see what is behind them, tries every location, and fails only when
 * the MCP server itself cannot be reached.
 */
import {
  type Misconfiguration,
  startMisconfiguredServer,
  startScriptedServer,
} from "@authchart/testkit";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import {
  judgePitfalls,
  type PitfallId,
  probePolicy,
  probeServer,
  reportProbe,
} from "../../src/check/index.js";
import { OAuthHttp } from "../../src/services/http.js";

const probe = (url: string) =>
  Effect.runPromise(probeServer(url).pipe(Effect.provide(OAuthHttp.layerFetch(probePolicy(url)))));

describe("probeServer", () => {
  it("a well-configured server: the challenge, every PRM location, every AS form", async () => {
    const server = await startMisconfiguredServer();
    try {
      const record = await probe(server.url);
      expect(record.challenge.hop).toMatchObject({ method: "POST", status: 401 });
      expect(record.challenge.challenge?.scope).toEqual(["mcp:read"]);
      expect(record.resourceMetadata.map((l) => [l.source, l.outcome._tag])).toEqual([
        ["challenge", "Document"],
        ["root", "Absent"],
      ]);
      expect(record.authorizationServers[0]?.lookups.map((l) => l.outcome._tag)).toEqual([
        "Document",
        "Document",
      ]);
      expect(judgePitfalls(record)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("follows a redirect and records both hops", async () => {
    const server = await startMisconfiguredServer({ metadataRedirect: true });
    try {
      const record = await probe(server.url);
      const [first] = record.resourceMetadata;
      expect(first?.hops.map((h) => [h.status, h.location])).toEqual([
        [301, `${new URL(server.url).origin}/metadata/prm.json`],
        [200, undefined],
      ]);
      expect(judgePitfalls(record).map((p) => p.id)).toEqual(["metadata-redirect"]);
    } finally {
      await server.close();
    }
  });

  it("tries every form of a path issuer, past the one that serves it", async () => {
    const server = await startMisconfiguredServer({
      issuerPath: "/tenant1",
      metadataForms: ["oauth-authorization-server"],
    });
    try {
      const record = await probe(server.url);
      expect(record.authorizationServers[0]?.lookups.map((l) => l.hops[0]?.status)).toEqual([
        200, 404, 404,
      ]);
      expect(judgePitfalls(record).map((p) => p.id)).toEqual(["path-issuer-one-form"]);
    } finally {
      await server.close();
    }
  });

  it("a redirect loop ends after the hop limit; a non-JSON 200 is still read", async () => {
    const server = await startScriptedServer();
    const origin = server.origin;
    server.route("/mcp", { status: 401, headers: { "www-authenticate": "Bearer" }, body: "" });
    server.route("/.well-known/oauth-protected-resource/mcp", {
      status: 302,
      headers: { location: "/elsewhere" },
    });
    server.route("/elsewhere", {
      status: 302,
      headers: { location: "/.well-known/oauth-protected-resource/mcp" },
    });
    server.route("/.well-known/oauth-protected-resource", {
      status: 200,
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ resource: `${origin}/mcp`, authorization_servers: [origin] }),
    });
    try {
      const record = await probe(`${origin}/mcp`);
      const [loop, root] = record.resourceMetadata;
      expect(loop?.outcome).toEqual({ _tag: "Failed", problem: "more than 5 redirects" });
      expect(loop?.hops).toHaveLength(6);
      expect(root?.outcome).toMatchObject({ _tag: "Document" });
      expect(judgePitfalls(record).map((p) => p.id)).toEqual([
        "metadata-redirect",
        "authorization-server-metadata-not-found",
      ]);
    } finally {
      await server.close();
    }
  });

  it("a server that never answers its metadata: the probe ends within its budget, the rest marked not tried", async () => {
    // Each request has the policy's timeout (10 s); without a budget for the whole probe, a
    // server answering every location just before it holds the probe for many minutes.
    const server = await startScriptedServer();
    const origin = server.origin;
    server.route("/mcp", {
      status: 401,
      headers: { "www-authenticate": `Bearer resource_metadata="${origin}/prm"` },
    });
    for (const path of [
      "/prm",
      "/.well-known/oauth-protected-resource/mcp",
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-authorization-server",
      "/.well-known/openid-configuration",
    ])
      server.route(path, { hang: true });
    try {
      const url = `${origin}/mcp`;
      const record = await Effect.runPromise(
        probeServer(url, { budgetMillis: 1_500 }).pipe(
          Effect.provide(OAuthHttp.layerFetch(probePolicy(url))),
        ),
      );
      expect(record.challenge.hop.status).toBe(401);
      const lookups = [
        ...record.resourceMetadata,
        ...record.authorizationServers.flatMap((as) => as.lookups),
      ];
      const [first, ...rest] = lookups;
      expect(first?.hops[0]?.failure?.tag).toBe("RequestTimeout");
      expect(rest.length).toBeGreaterThan(0);
      for (const lookup of rest) {
        expect(lookup.outcome).toEqual({
          _tag: "Failed",
          problem: "not tried: the probe's 1.5 s ran out before this request",
        });
        expect(lookup.hops.map((h) => h.failure?.tag)).toEqual(["NotSent"]);
      }
      // The report is still made, from what was fetched.
      expect(reportProbe(record).verdict).toBe("pitfalls");
    } finally {
      await server.close();
    }
  });

  it("an MCP server that cannot be reached: a typed TransportError", async () => {
    const server = await startScriptedServer();
    const url = `${server.origin}/mcp`;
    await server.close();
    const error = await Effect.runPromise(
      probeServer(url).pipe(Effect.provide(OAuthHttp.layerFetch(probePolicy(url))), Effect.flip),
    );
    expect(error._tag).toBe("TransportError");
  });

  it("a failed probe's error shows the server URL without its query values (a key it may carry)", async () => {
    const server = await startScriptedServer();
    const unreachable = `${server.origin}/mcp?api_key=k-3f9a1c`;
    await server.close();
    for (const url of [unreachable, "http://mcp.example/mcp?api_key=k-3f9a1c"]) {
      const error = await Effect.runPromise(
        probeServer(url).pipe(Effect.provide(OAuthHttp.layerFetch(probePolicy(url))), Effect.flip),
      );
      expect(["TransportError", "InsecureUrl"]).toContain(error._tag);
      expect(error.message).toContain("api_key=…");
      expect(JSON.stringify(error)).not.toContain("k-3f9a1c");
      expect(error.message).not.toContain("k-3f9a1c");
    }
  });

  const misconfigured: readonly [string, Misconfiguration, PitfallId, number | undefined][] = [
    ["no S256", { pkceMethods: ["plain"] }, "no-s256", 200],
    ["no PKCE member at all", { pkceMethods: null }, "no-s256", 200],
    ["an issuer that is not its metadata URL's", { issuer: "other" }, "issuer-mismatch", 200],
    ["a resource on another origin", { resource: "other-origin" }, "resource-mismatch", 200],
    ["a resource that is the origin", { resource: "origin" }, "resource-mismatch", 200],
    ["no registration path", { registration: "none" }, "no-registration-path", 200],
    ["unlisted challenge scopes", { challengeScope: "files:read" }, "scopes-not-listed", 200],
    [
      "a path issuer only the OIDC form finds",
      { issuerPath: "/t1", metadataForms: ["openid-appended"] },
      "path-issuer-one-form",
      404,
    ],
    ["PRM behind a redirect", { metadataRedirect: true }, "metadata-redirect", 301],
    ["a 401 without a challenge", { noChallenge: true }, "no-challenge", 401],
    [
      "a DPoP-only resource behind an AS that lists no proof algorithm",
      { dpopRequiredUnadvertised: true },
      "dpop-not-advertised",
      200,
    ],
  ];

  it.each(misconfigured)(
    "%s: exactly that pitfall, evidence from a real request",
    async (_, knobs, id, status) => {
      const server = await startMisconfiguredServer(knobs);
      try {
        const report = reportProbe(await probe(server.url));
        expect(report.pitfalls.map((p) => p.id)).toEqual([id]);
        expect(report.pitfalls[0]?.evidence[0]?.status).toBe(status);
        const fetched = new Set(report.exchanges.map((x) => x.url));
        for (const e of report.pitfalls[0]?.evidence ?? []) expect(fetched).toContain(e.url);
      } finally {
        await server.close();
      }
    },
  );

  it("client ID metadata documents are a registration path", async () => {
    const server = await startMisconfiguredServer({ registration: "client-id-metadata-document" });
    try {
      const report = reportProbe(await probe(server.url));
      expect(report.pitfalls).toEqual([]);
      expect(report.advertised.authorizationServers[0]?.registration).toEqual({
        preRegistered: true,
        clientIdMetadataDocument: true,
        dynamic: undefined,
      });
    } finally {
      await server.close();
    }
  });
});
