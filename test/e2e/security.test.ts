/**
 * Security behaviours over real servers: the bearer's origin (behaviour 8), issuer binding
 * (behaviour 11, SEP-2352), and redaction — no token, secret, code or verifier in any inspection
 * event, trace entry, error or persisted state (DESIGN invariants, SPEC T8).
 */
import {
  CredentialStore,
  createSession,
  OAuthHttp,
  Randomness,
  redact,
  type TraceEntry,
  UserAgent,
} from "@authchart/core";
import { type ScriptedServer, startScriptedServer, startTestkit } from "@authchart/testkit";
import { FetchHttpClient } from "@effect/platform";
import { Effect, Layer, Option, Redacted } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import type { InspectionEvent } from "xstate";
import { callTool, memoryStore, redirectUri, seeded } from "./support.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const seededSession = async (serverUrl: string, accessToken: string) => {
  const session = await seeded(serverUrl, accessToken);
  cleanups.push(() => session.close());
  return session;
};

describe("behaviour 8: the bearer token goes only to the protected resource's origin", () => {
  let resource: ScriptedServer;
  let other: ScriptedServer;
  const echoAuth = (req: { headers: Record<string, string | string[] | undefined> }) => ({
    status: 200,
    body: String(req.headers.authorization ?? "none"),
  });

  it("same origin: sent, also after a same-origin redirect; other origins: never, also not after a redirect", async () => {
    resource = await startScriptedServer();
    other = await startScriptedServer({ "/landing": echoAuth }, { host: "localhost" });
    cleanups.push(
      () => resource.close(),
      () => other.close(),
    );
    resource.route("/mcp/echo-auth", echoAuth);
    resource.route("/mcp/same", { status: 302, headers: { location: "/mcp/echo-auth" } });
    resource.route("/mcp/away", { status: 307, headers: { location: `${other.origin}/landing` } });
    const session = await seededSession(`${resource.origin}/mcp`, "seeded-access-token");

    expect(session.state().value).toBe("authorized");
    expect(await (await session.fetch(`${resource.origin}/mcp/echo-auth`)).text()).toBe(
      "Bearer seeded-access-token",
    );
    expect(await (await session.fetch(`${resource.origin}/mcp/same`)).text()).toBe(
      "Bearer seeded-access-token",
    );
    expect(await (await session.fetch(`${resource.origin}/mcp/away`)).text()).toBe("none");
    expect(await (await session.fetch(`${other.origin}/landing`)).text()).toBe("none");
    // A 401 challenge from the other origin (reached by a redirect) is not the resource's own:
    // handed back as it is, no discovery against whatever it names.
    other.route("/challenge", {
      status: 401,
      headers: { "www-authenticate": `Bearer resource_metadata="${other.origin}/prm"` },
      body: "",
    });
    resource.route("/mcp/to-challenge", {
      status: 302,
      headers: { location: `${other.origin}/challenge` },
    });
    const challenged = await session.fetch(`${resource.origin}/mcp/to-challenge`);
    expect(challenged.status).toBe(401);
    expect(session.state().value).toBe("authorized");
    expect(other.requests.map((r) => r.path)).not.toContain("/prm");
    // A caller's own Authorization header to another origin is theirs to send; ours is never added.
    expect(
      await (
        await session.fetch(`${other.origin}/landing`, { headers: { authorization: "Basic mine" } })
      ).text(),
    ).toBe("Basic mine");
  });
});

describe("behaviour 11: credentials are bound to the issuer (SEP-2352)", () => {
  it("when the resource's metadata names another authorization server: discover and register there, reuse nothing", async () => {
    const old = await startTestkit();
    const current = await startTestkit();
    cleanups.push(
      () => old.close(),
      () => current.close(),
    );
    const store = memoryStore();
    // A session for `current`'s MCP server that still believes in `old`'s authorization server.
    const first = await createSession({
      serverUrl: old.mcpUrl,
      store,
      client: { clientName: "t", redirectUris: [redirectUri] },
      userAgent: (p) => old.user.authorize(p.url),
    });
    await callTool(first, old.mcpUrl, "echo", { text: "old" });
    const persisted = Option.getOrThrow(await Effect.runPromise(store.loadSession(old.mcpUrl)));
    await first.close();
    const moved = JSON.parse(persisted.replaceAll(old.mcpUrl, current.mcpUrl)) as Record<
      string,
      unknown
    >;
    await Effect.runPromise(store.saveSession(current.mcpUrl, JSON.stringify(moved)));
    const oldClientId = (moved.client as { clientId: string }).clientId;

    const trace: TraceEntry[] = [];
    const session = await createSession({
      serverUrl: current.mcpUrl,
      store,
      client: { clientName: "t", redirectUris: [redirectUri] },
      userAgent: (p) => current.user.authorize(p.url),
      onTrace: (t) => trace.push(t),
    });
    cleanups.push(() => session.close());
    expect((await callTool(session, current.mcpUrl, "echo", { text: "new" })).status).toBe(200);
    expect(session.state().context.authServer?.issuer).toBe(current.issuer);
    expect(session.state().token?.issuer).toBe(current.issuer);
    expect(session.state().context.client?.clientId).not.toBe(oldClientId);
    expect(current.count("registration")).toBe(1);
    expect(old.count("token")).toBe(1); // nothing more was asked of the old issuer
  });
});

describe("behaviour 11: a pre-registered client without an issuer", () => {
  it("serves the first authorization server only; a resource that moves registers at the new one", async () => {
    const old = await startTestkit();
    const current = await startTestkit();
    cleanups.push(
      () => old.close(),
      () => current.close(),
    );
    // A confidential client registered out of band at the old server, configured without issuer.
    const registered = (await (
      await fetch(`${old.issuer}/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          client_name: "static",
          redirect_uris: [redirectUri],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "client_secret_basic",
          application_type: "native",
          scope: "mcp:read",
        }),
      })
    ).json()) as { client_id: string; client_secret: string };
    const client = {
      clientName: "t",
      redirectUris: [redirectUri] as [string],
      preRegistered: [
        { clientId: registered.client_id, clientSecret: Redacted.make(registered.client_secret) },
      ],
    };
    const store = memoryStore();
    const first = await createSession({
      serverUrl: old.mcpUrl,
      store,
      client,
      userAgent: (p) => old.user.authorize(p.url),
    });
    expect((await callTool(first, old.mcpUrl, "echo", { text: "old" })).status).toBe(200);
    expect(first.state().context.client).toMatchObject({
      clientId: registered.client_id,
      kind: "pre-registered",
    });
    const persisted = Option.getOrThrow(await Effect.runPromise(store.loadSession(old.mcpUrl)));
    await first.close();
    await Effect.runPromise(
      store.saveSession(current.mcpUrl, persisted.replaceAll(old.mcpUrl, current.mcpUrl)),
    );

    const moved = await createSession({
      serverUrl: current.mcpUrl,
      store,
      client,
      userAgent: (p) => current.user.authorize(p.url),
    });
    cleanups.push(() => moved.close());
    expect((await callTool(moved, current.mcpUrl, "echo", { text: "new" })).status).toBe(200);
    expect(moved.state().context.client?.kind).toBe("dynamic");
    expect(moved.state().context.client?.clientId).not.toBe(registered.client_id);
    expect(current.count("registration")).toBe(1);
  });
});

describe("redaction", () => {
  it("no access token, refresh token, client secret, code or verifier in inspection events, traces, errors or persisted state", async () => {
    const kit = await startTestkit({ mcp: { challengeScope: ["mcp:read"] } });
    cleanups.push(() => kit.close());
    const store = memoryStore();
    const secrets = new Set<string>();
    const verifier = `verifier-${crypto.randomUUID()}-${crypto.randomUUID()}`;
    secrets.add(verifier);

    // Every token-endpoint and registration answer is read for its secrets.
    const recordingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = String(input instanceof Request ? input.url : input);
      if (/\/(token|register)$/.test(new URL(url).pathname) && response.ok) {
        const body = (await response.clone().json()) as Record<string, unknown>;
        for (const name of ["access_token", "refresh_token", "client_secret", "id_token"]) {
          if (typeof body[name] === "string") secrets.add(body[name] as string);
        }
      }
      return response;
    };
    const layer = Layer.mergeAll(
      OAuthHttp.layer({ allowInsecureLoopback: true }).pipe(
        Layer.provide(FetchHttpClient.layer),
        Layer.provide(Layer.succeed(FetchHttpClient.RequestInit, { redirect: "manual" })),
        Layer.provide(Layer.succeed(FetchHttpClient.Fetch, recordingFetch)),
      ),
      Layer.succeed(CredentialStore, store),
      Layer.succeed(Randomness, {
        codeVerifier: Effect.succeed(verifier),
        state: Effect.sync(() => crypto.randomUUID()),
      }),
      UserAgent.fromPromise(async (p) => {
        const callback = await kit.user.authorize(p.url);
        secrets.add(new URL(callback).searchParams.get("code") ?? "no code");
        return callback;
      }),
    );
    const inspected: InspectionEvent[] = [];
    const traces: TraceEntry[] = [];
    const session = await createSession({
      serverUrl: kit.mcpUrl,
      client: {
        clientName: "redaction",
        redirectUris: [redirectUri],
        tokenEndpointAuthMethod: "client_secret_basic",
      },
      layer,
      inspect: (e) => inspected.push(e),
      onTrace: (t) => traces.push(t),
    });
    cleanups.push(() => session.close());

    await callTool(session, kit.mcpUrl, "echo", { text: "a" }); // authorization + code exchange
    await callTool(session, kit.mcpUrl, "write-note", { text: "b" }); // step-up
    kit.expireAccessTokens();
    await callTool(session, kit.mcpUrl, "echo", { text: "c" }); // refresh with rotation
    kit.user.policy = { grant: "deny" };
    const error = await callTool(session, kit.mcpUrl, "admin-report").catch((e: unknown) => e); // a failure
    expect(error).toMatchObject({ _tag: "AuthorizationDenied" });

    expect(
      [...secrets].filter((s) => s.startsWith("verifier-") || s.length > 10).length,
    ).toBeGreaterThanOrEqual(8);
    const persisted = Option.getOrThrow(await Effect.runPromise(store.loadSession(kit.mcpUrl)));
    const haystacks = {
      inspection: inspected.map((e) => safeStringify(e)).join("\n"),
      redactedInspection: inspected.map((e) => JSON.stringify(redact(e))).join("\n"),
      traces: JSON.stringify(traces),
      error: `${String(error)} ${safeStringify(error)} ${(error as Error).message}`,
      persistedSession: persisted,
      snapshot: safeStringify(session.actor.getPersistedSnapshot()),
    };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of secrets) {
        expect(text.includes(secret), `${where} contains a secret`).toBe(false);
      }
    }
    expect(haystacks.inspection.length).toBeGreaterThan(10_000);
  });
});

/** JSON with cycles cut and functions dropped, the way an inspector or logger would serialize. */
const safeStringify = (value: unknown) => {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "function") return undefined;
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
    }
    return v;
  });
};
