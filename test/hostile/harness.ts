/**
 * The hostile-server harness: a well-behaved OAuth world on ONE scripted loopback server (MCP
 * endpoint, protected-resource metadata, authorization-server metadata, registration, token
 * endpoint; the browser step is the session's userAgent function), a counting and routing fetch,
 * and ONE invariant checker every hostile case ends with.
 *
 * Each case overrides one route (or the callback) with hostile behaviour, makes application
 * calls, and calls `world.check(outcome, { ... })`, which asserts:
 * - the call ended (no hang) and a rejection is a typed error (`_tag` + a clear `message`);
 * - no secret (access/refresh token, client secret, authorization code, PKCE verifier) in any
 *   error, trace entry, inspection event (redacted AND raw), persisted snapshot, console output or
 *   the session's state;
 * - `Authorization: Bearer` only ever went to the MCP server's origin;
 * - a bounded number of requests, and none while idle;
 * - no uncaught exception or unhandled rejection;
 * - the session closes.
 *
 * Traffic never leaves the machine: the routing fetch maps `mcp.hostile.test` to the loopback
 * server and throws for any other non-loopback host; a guard on globalThis.fetch does the same
 * for anything that does not use the session's `fetch` option.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  CredentialStore,
  type CredentialStoreService,
  createSession,
  redact,
  type Session,
  type SessionOptions,
  type TraceEntry,
} from "@authchart/core";
import {
  type ScriptedRequest,
  type ScriptedResponse,
  type ScriptedRoute,
  type ScriptedServer,
  startScriptedServer,
} from "@authchart/testkit";
import { Effect } from "effect";
import { expect, vi } from "vitest";
import type { InspectionEvent } from "xstate";

/** The fetch every test started with: the harness forwards to it, only ever on loopback. */
const realFetch: typeof globalThis.fetch = globalThis.fetch.bind(globalThis);

export const redirectUri = "http://127.0.0.1:33418/callback";
export const remoteHost = "mcp.hostile.test";

export const random = (bytes = 12) => randomBytes(bytes).toString("base64url");

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const isLoopbackHostname = (hostname: string) =>
  hostname === "127.0.0.1" ||
  hostname === "localhost" ||
  hostname === "[::1]" ||
  hostname === "::1";

// ------------------------------------------------------------------------------- responses

export const json = (
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): ScriptedResponse => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
  body: JSON.stringify(value),
});

/** A JSON body written by hand (1e400, duplicated members, anything JSON.stringify cannot say). */
export const rawJson = (status: number, body: string): ScriptedResponse => ({
  status,
  headers: { "content-type": "application/json" },
  body,
});

export const html = (status = 200): ScriptedResponse => ({
  status,
  headers: { "content-type": "text/html" },
  body: "<!doctype html><html><body><h1>Welcome</h1><p>Please log in</p></body></html>",
});

/** `depth` levels of nested arrays: JSON.parse would recurse that deep. */
export const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

export const tenMegabytesStreamed = (): ScriptedResponse => ({
  status: 200,
  headers: { "content-type": "application/json" },
  chunks: { count: 10 * 64, chunk: `{"pad":"${"x".repeat(16 * 1024 - 11)}",` },
});

export const tenMegabytesDeclared = (): ScriptedResponse => {
  const body = Buffer.alloc(10 * 1024 * 1024, 0x20);
  body.write('{"a":1}', 0);
  return {
    status: 200,
    headers: { "content-type": "application/json", "content-length": String(body.length) },
    body,
  };
};

export const prototypeNames = [
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
] as const;

// ------------------------------------------------------------------------------- records

export interface FetchRecord {
  /** The URL as the session asked for it (before the routing rewrite). */
  readonly url: string;
  readonly origin: string;
  readonly method: string;
  /** The Authorization header sent, if any. */
  readonly authorization?: string | undefined;
  /** "option": through the session's fetch option; "global": through globalThis.fetch. */
  readonly via: "option" | "global";
  /** True when the harness refused to send it (a non-mapped, non-loopback host). */
  readonly blocked: boolean;
}

const headersOf = (input: RequestInfo | URL, init: RequestInit | undefined): Headers => {
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  if (init?.headers) for (const [k, v] of new Headers(init.headers)) headers.set(k, v);
  return headers;
};

const urlOf = (input: RequestInfo | URL): string =>
  input instanceof Request ? input.url : input instanceof URL ? input.href : String(input);

/**
 * A fetch that records every request and forwards it: hosts in `routes` are rewritten to their
 * loopback origin, loopback hosts go as they are, anything else throws without being sent.
 */
const recordingFetch =
  (records: FetchRecord[], routes: ReadonlyMap<string, string>, via: FetchRecord["via"]) =>
  async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(urlOf(input));
    const headers = headersOf(input, init);
    const method = init?.method ?? (input instanceof Request ? input.method : "GET");
    const mapped = routes.get(url.host);
    const blocked = mapped === undefined && !isLoopbackHostname(url.hostname);
    records.push({
      url: url.href,
      origin: url.origin,
      method,
      authorization: headers.get("authorization") ?? undefined,
      via,
      blocked,
    });
    if (blocked) throw new TypeError(`hostile harness: refusing to send a request to ${url.host}`);
    if (mapped === undefined) return realFetch(input, init);
    const target = new URL(`${url.pathname}${url.search}`, mapped).href;
    if (input instanceof Request) return realFetch(new Request(target, input), init);
    return realFetch(target, init);
  };

// ------------------------------------------------------------------------------- the world

export interface PromptInfo {
  readonly url: URL;
  readonly state: string;
  readonly redirectUri: string;
  /** A fresh authorization code the token endpoint will redeem (a secret of the case). */
  readonly code: string;
  readonly iss: string;
  /** The callback the base world would return. */
  readonly callback: string;
}

export interface TokenContext {
  readonly grantType: string;
  /** A fresh access token /mcp accepts (a secret of the case). */
  readonly accessToken: string;
  readonly refreshToken: string;
  /** The base answer: Bearer, 3600 s, refresh token, scope "read". */
  readonly standard: ScriptedResponse;
  readonly request: ScriptedRequest;
}

export interface WorldOptions {
  /** Make the MCP server look remote: https://mcp.hostile.test/mcp, routed to loopback. */
  readonly remote?: boolean;
  /** The browser step: what callback URL to return (default: the well-behaved one). */
  readonly callback?: (prompt: PromptInfo, signal: AbortSignal) => string | Promise<string>;
  /** The token endpoint's answer to a valid request (default: `standard`). */
  readonly token?: (context: TokenContext) => ScriptedResponse;
  /** Registration: the client information response (default: id + secret that never expires). */
  readonly registration?: (client: {
    clientId: string;
    clientSecret: string;
    request: ScriptedRequest;
  }) => ScriptedResponse;
  /** Extra members merged into the PRM / AS metadata documents. */
  readonly prm?: Record<string, unknown>;
  readonly asMetadata?: Record<string, unknown>;
  /** The challenge's parameters (default: resource_metadata + scope="read"). */
  readonly challenge?: string;
  /** Session options merged over the world's. */
  readonly session?: Partial<SessionOptions>;
}

export type Outcome =
  | { readonly kind: "response"; readonly status: number; readonly body: string }
  | { readonly kind: "error"; readonly error: unknown }
  | { readonly kind: "hang" };

export type Expectation =
  | { readonly status: number }
  | { readonly tag: string | readonly string[] }
  | { readonly statusOrTag: { status: number; tags: readonly string[] } }
  | { readonly aborted: true }
  | "anything-typed";

export interface CheckOptions {
  /** Upper bound on requests since the world was made (all calls of the case). */
  readonly maxRequests: number;
  readonly expect: Expectation;
  /** How long to watch for idle requests after the call. Default 250 ms. */
  readonly idleMillis?: number;
}

export interface World {
  readonly server: ScriptedServer;
  /** The origin documents name: the loopback origin, or https://mcp.hostile.test. */
  readonly base: string;
  readonly mcpUrl: string;
  readonly issuer: string;
  readonly session: Session;
  readonly records: FetchRecord[];
  readonly traces: TraceEntry[];
  /** Every secret of the case: tokens, codes, client secrets, verifiers seen. */
  readonly secrets: Set<string>;
  /** Access tokens /mcp accepts; clear it to reject every token so far. */
  readonly validTokens: Set<string>;
  readonly counters: {
    authorizations: number;
    tokenRequests: number;
    refreshRequests: number;
    registrations: number;
  };
  /** The token endpoint requests as received (Basic header and body) — to look for secrets. */
  readonly tokenRequests: ScriptedRequest[];
  readonly route: (path: string, route: ScriptedRoute) => void;
  /** The standard challenge header value. */
  readonly challengeHeader: (params?: string) => string;
  /** Token responses: a fresh token set registered as valid (for custom /token routes). */
  readonly issueTokens: () => { accessToken: string; refreshToken: string };
  /** One application call: a JSON-RPC POST to the MCP endpoint through session.fetch. */
  readonly call: (init?: { signal?: AbortSignal; url?: string }) => Promise<Outcome>;
  readonly requestCount: () => number;
  readonly check: (outcome: Outcome | readonly Outcome[], options: CheckOptions) => Promise<void>;
}

const worlds: Array<() => Promise<void>> = [];

/** afterEach in every hostile file: closes servers, sessions, listeners, spies, guards. */
export const disposeWorlds = async () => {
  for (const dispose of worlds.splice(0).reverse()) await dispose();
};

/** Runs `fn` when the current case's worlds are disposed (extra servers). */
export const onDispose = (fn: () => Promise<unknown>) => {
  worlds.push(async () => {
    await fn();
  });
};

export const memoryStore = (): CredentialStoreService =>
  Effect.runSync(Effect.provide(CredentialStore, CredentialStore.layerMemory));

/** JSON.stringify that survives cycles (and bigint), for raw inspection events. */
export const stringifyCyclic = (value: unknown): string => {
  const seen = new WeakSet<object>();
  return (
    JSON.stringify(value, (_key, member: unknown) => {
      if (typeof member === "bigint") return member.toString();
      if (typeof member === "function") return undefined;
      if (member !== null && typeof member === "object") {
        if (seen.has(member)) return "[circular]";
        seen.add(member);
      }
      return member;
    }) ?? ""
  );
};

const pkceChallenge = (verifier: string) =>
  createHash("sha256").update(verifier).digest("base64url");

const describeUnknown = (value: unknown): string => {
  try {
    return `${String(value)} ${stringifyCyclic(value)}`;
  } catch {
    return String(value);
  }
};

export const startWorld = async (options: WorldOptions = {}): Promise<World> => {
  const server = await startScriptedServer();
  const records: FetchRecord[] = [];
  const routes = new Map<string, string>();
  const base = options.remote ? `https://${remoteHost}` : server.origin;
  if (options.remote) routes.set(remoteHost, server.origin);
  const mcpUrl = `${base}/mcp`;
  const issuer = base;
  const suffix = random(6);
  const secrets = new Set<string>();
  const validTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  const codes = new Map<string, { challenge: string }>();
  const counters = { authorizations: 0, tokenRequests: 0, refreshRequests: 0, registrations: 0 };
  const tokenRequests: ScriptedRequest[] = [];
  let serial = 0;

  const issueTokens = () => {
    serial++;
    const accessToken = `AT-${suffix}-${serial}-${random()}`;
    const refreshToken = `RT-${suffix}-${serial}-${random()}`;
    secrets.add(accessToken);
    secrets.add(refreshToken);
    validTokens.add(accessToken);
    refreshTokens.add(refreshToken);
    return { accessToken, refreshToken };
  };
  const challengeHeader = (params = `scope="read"`) =>
    `Bearer resource_metadata="${base}/prm"${params ? `, ${params}` : ""}`;

  server.route("/mcp", (req) => {
    const auth = String(req.headers.authorization ?? "");
    const token = auth.startsWith("Bearer ") ? auth.slice(7) : undefined;
    if (token !== undefined && validTokens.has(token)) {
      return json(200, { jsonrpc: "2.0", id: 1, result: { ok: true } });
    }
    return {
      status: 401,
      headers: {
        "www-authenticate":
          options.challenge === undefined
            ? challengeHeader()
            : `Bearer ${options.challenge.replaceAll("{base}", base)}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ error: "unauthorized" }),
    };
  });
  server.route(
    "/prm",
    json(200, {
      resource: mcpUrl,
      authorization_servers: [issuer],
      scopes_supported: ["read"],
      ...options.prm,
    }),
  );
  server.route(
    "/.well-known/oauth-authorization-server",
    json(200, {
      issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      registration_endpoint: `${base}/register`,
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code", "refresh_token"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "none"],
      scopes_supported: ["read"],
      ...options.asMetadata,
    }),
  );
  server.route("/register", (req) => {
    counters.registrations++;
    const clientId = `client-${suffix}-${counters.registrations}`;
    const clientSecret = `CS-${suffix}-${counters.registrations}-${random()}`;
    secrets.add(clientSecret);
    if (options.registration) return options.registration({ clientId, clientSecret, request: req });
    let redirectUris: unknown = [redirectUri];
    try {
      redirectUris = (JSON.parse(req.body) as { redirect_uris?: unknown }).redirect_uris;
    } catch {}
    return json(201, {
      client_id: clientId,
      client_secret: clientSecret,
      client_secret_expires_at: 0,
      redirect_uris: redirectUris,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    });
  });
  server.route("/token", (req) => {
    counters.tokenRequests++;
    tokenRequests.push(req);
    const params = new URLSearchParams(req.body);
    const grantType = params.get("grant_type") ?? "";
    const verifier = params.get("code_verifier");
    if (verifier) secrets.add(verifier);
    if (grantType === "authorization_code") {
      const code = params.get("code") ?? "";
      const issued = codes.get(code);
      codes.delete(code);
      if (issued === undefined || verifier === null || pkceChallenge(verifier) !== issued.challenge)
        return json(400, { error: "invalid_grant" });
    } else if (grantType === "refresh_token") {
      counters.refreshRequests++;
      if (!refreshTokens.has(params.get("refresh_token") ?? ""))
        return json(400, { error: "invalid_grant" });
    } else return json(400, { error: "unsupported_grant_type" });
    const { accessToken, refreshToken } = issueTokens();
    const standard = json(200, {
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: 3600,
      refresh_token: refreshToken,
      scope: "read",
    });
    return options.token
      ? options.token({ grantType, accessToken, refreshToken, standard, request: req })
      : standard;
  });

  const userAgent = async (
    prompt: { url: string; redirectUri: string },
    signal: AbortSignal,
  ): Promise<string> => {
    counters.authorizations++;
    const url = new URL(prompt.url);
    const state = url.searchParams.get("state") ?? "";
    const code = `CODE-${suffix}-${counters.authorizations}-${random()}`;
    secrets.add(code);
    codes.set(code, { challenge: url.searchParams.get("code_challenge") ?? "" });
    const callback = `${prompt.redirectUri}?code=${encodeURIComponent(code)}&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(issuer)}`;
    const info: PromptInfo = {
      url,
      state,
      redirectUri: prompt.redirectUri,
      code,
      iss: issuer,
      callback,
    };
    return options.callback ? options.callback(info, signal) : callback;
  };

  // Collectors: traces, inspection (redacted and raw), persisted snapshots, console, process.
  const traces: TraceEntry[] = [];
  const inspected: string[] = [];
  const persisted: string[] = [];
  const consoleOut: string[] = [];
  const processFaults: string[] = [];
  const onUncaught = (error: unknown) => processFaults.push(`uncaught: ${describeUnknown(error)}`);
  const onUnhandled = (reason: unknown) =>
    processFaults.push(`unhandled rejection: ${describeUnknown(reason)}`);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);
  const spies = (["log", "warn", "error", "info", "debug"] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      if (process.env.HOSTILE_DEBUG) process.stderr.write(`${args.map(String).join(" ")}\n`);
      consoleOut.push(args.map(describeUnknown).join(" "));
    }),
  );
  const previousFetch = globalThis.fetch;
  globalThis.fetch = recordingFetch(records, new Map(), "global");

  const store = memoryStore();
  const recordingStore: CredentialStoreService = {
    ...store,
    saveSession: (serverUrl, text) => {
      persisted.push(text);
      return store.saveSession(serverUrl, text);
    },
  };

  const { http: httpOverride, ...sessionOverrides } = options.session ?? {};
  const session = await createSession({
    serverUrl: mcpUrl,
    client: { clientName: "hostile harness", redirectUris: [redirectUri] },
    userAgent,
    store: recordingStore,
    fetch: recordingFetch(records, routes, "option"),
    http: { timeoutMillis: 3_000, ...httpOverride },
    onTrace: (entry) => traces.push(entry),
    inspect: (event: InspectionEvent) => {
      inspected.push(JSON.stringify(redact(event)) ?? "");
      inspected.push(stringifyCyclic(event));
    },
    ...sessionOverrides,
  });

  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await Promise.race([session.close().catch(() => undefined), sleep(5_000)]);
    await server.close();
    globalThis.fetch = previousFetch;
    for (const spy of spies) spy.mockRestore();
    // Late rejections of this case still land in processFaults before the listeners go.
    await sleep(0);
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
  };
  worlds.push(dispose);

  const call = async (init: { signal?: AbortSignal; url?: string } = {}): Promise<Outcome> => {
    const request = (async (): Promise<Outcome> => {
      try {
        const response = await session.fetch(init.url ?? mcpUrl, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
          ...(init.signal ? { signal: init.signal } : {}),
        });
        return { kind: "response", status: response.status, body: await response.text() };
      } catch (error) {
        return { kind: "error", error };
      }
    })();
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<Outcome>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "hang" }), 12_000);
    });
    const outcome = await Promise.race([request, hang]);
    clearTimeout(timer);
    return outcome;
  };

  const requestCount = () => records.length;

  const check = async (given: Outcome | readonly Outcome[], checkOptions: CheckOptions) => {
    const outcomes: readonly Outcome[] = Array.isArray(given) ? given : [given as Outcome];
    const failures: string[] = [];
    const fail = (what: string) => failures.push(what);

    // 1. Every call ended, as expected, and a rejection is typed.
    for (const [i, outcome] of outcomes.entries()) {
      const label = outcomes.length > 1 ? `call ${i}` : "the call";
      if (outcome.kind === "hang") {
        fail(`${label} did not end (hang)`);
        continue;
      }
      const expectation = checkOptions.expect;
      if (outcome.kind === "error") {
        const error = outcome.error as { _tag?: unknown; message?: unknown; name?: unknown };
        const aborted =
          typeof expectation === "object" &&
          "aborted" in expectation &&
          (error?.name === "AbortError" ||
            error?.name === "TimeoutError" ||
            error?._tag === "FlowCancelled");
        if (!aborted) {
          if (typeof error !== "object" || error === null || typeof error._tag !== "string")
            fail(
              `${label} rejected with an untyped error: ${describeUnknown(error).slice(0, 500)}`,
            );
          else if (typeof error.message !== "string" || error.message.trim().length < 8)
            fail(`${label} rejected with ${error._tag} without a clear message`);
        }
      }
      const tag =
        outcome.kind === "error"
          ? String((outcome.error as { _tag?: unknown })?._tag ?? "(untyped)")
          : undefined;
      const got =
        outcome.kind === "response"
          ? `status ${outcome.status}`
          : `${tag}: ${String((outcome.error as { message?: unknown })?.message ?? outcome.error).slice(0, 300)}`;
      if (expectation === "anything-typed") {
        // Any response, or any typed error (checked above).
      } else if ("status" in expectation) {
        if (outcome.kind !== "response" || outcome.status !== expectation.status)
          fail(`${label}: expected status ${expectation.status}, got ${got}`);
      } else if ("tag" in expectation) {
        const tags = typeof expectation.tag === "string" ? [expectation.tag] : expectation.tag;
        if (tag === undefined || !tags.includes(tag))
          fail(`${label}: expected ${tags.join(" | ")}, got ${got}`);
      } else if ("statusOrTag" in expectation) {
        const { status, tags } = expectation.statusOrTag;
        const ok =
          outcome.kind === "response" ? outcome.status === status : tags.includes(tag ?? "");
        if (!ok) fail(`${label}: expected status ${status} or ${tags.join(" | ")}, got ${got}`);
      } else if ("aborted" in expectation) {
        const error = outcome.kind === "error" ? (outcome.error as { name?: unknown }) : undefined;
        if (
          error?.name !== "AbortError" &&
          error?.name !== "TimeoutError" &&
          tag !== "FlowCancelled"
        )
          fail(`${label}: expected an abort, got ${got}`);
      }
    }

    // 2. Bounded requests, and none while idle.
    const count = requestCount();
    if (count > checkOptions.maxRequests)
      fail(
        `${count} requests, more than ${checkOptions.maxRequests}: ${records
          .slice(0, 30)
          .map((r) => `${r.method} ${r.url.slice(0, 120)}`)
          .join(", ")}`,
      );
    await sleep(checkOptions.idleMillis ?? 250);
    if (requestCount() !== count)
      fail(
        `requests while idle: ${records
          .slice(count)
          .map((r) => `${r.method} ${r.url.slice(0, 120)}`)
          .join(", ")}`,
      );

    // 3. The bearer token only to the MCP server's origin; nothing sent to a refused host.
    const mcpOrigin = new URL(mcpUrl).origin;
    for (const record of records) {
      if (/^bearer\s/i.test(record.authorization ?? "") && record.origin !== mcpOrigin)
        fail(`a bearer token was sent to ${record.origin} (${record.url.slice(0, 120)})`);
      if (record.blocked) fail(`a request to a non-loopback host was attempted: ${record.url}`);
    }

    // 4. No secret anywhere; nothing huge in errors and traces.
    const places: Array<[string, string]> = [];
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.kind !== "error") continue;
      const error = outcome.error as { message?: unknown };
      const message = typeof error?.message === "string" ? error.message : "";
      if (message.length >= 4096) fail(`error ${i} message is ${message.length} characters`);
      places.push([
        `error ${i}`,
        `${stringifyCyclic(outcome.error)} ${message} ${String(outcome.error)}`,
      ]);
    }
    for (const [i, entry] of traces.entries()) {
      const text = stringifyCyclic(entry);
      if (text.length >= 4096) fail(`trace entry ${i} (${entry.decision}) is ${text.length} chars`);
      places.push([`trace entry ${i} (${entry.decision})`, text]);
    }
    for (const [i, text] of inspected.entries()) places.push([`inspection event ${i >> 1}`, text]);
    for (const [i, text] of persisted.entries()) places.push([`persisted snapshot ${i}`, text]);
    for (const [i, text] of consoleOut.entries()) places.push([`console output ${i}`, text]);
    places.push(["session.state()", stringifyCyclic(session.state())]);
    for (const secret of secrets) {
      for (const [where, text] of places) {
        if (text.includes(secret)) {
          fail(`a secret (${secret.slice(0, 6)}…) appears in ${where}`);
          break;
        }
      }
    }
    if (consoleOut.length > 0)
      fail(`console output: ${consoleOut.map((line) => line.slice(0, 200)).join(" | ")}`);

    // 5. No process-level faults, and the session closes.
    let closed = false;
    await Promise.race([session.close().then(() => (closed = true)), sleep(5_000)]).catch(
      (error: unknown) => fail(`close() rejected: ${describeUnknown(error).slice(0, 300)}`),
    );
    if (!closed) fail("close() did not resolve within 5 s");
    await sleep(0);
    if (processFaults.length > 0)
      fail(`process faults: ${processFaults.map((f) => f.slice(0, 400)).join(" | ")}`);

    expect(failures, failures.join("\n")).toEqual([]);
  };

  return {
    server,
    base,
    mcpUrl,
    issuer,
    session,
    records,
    traces,
    secrets,
    validTokens,
    counters,
    tokenRequests,
    route: (path, r) => server.route(path, r),
    challengeHeader,
    issueTokens,
    call,
    requestCount,
    check,
  };
};

/** The requests a world sent to one path (as the session named it). */
export const requestsTo = (world: World, path: string) =>
  world.records.filter((r) => new URL(r.url).pathname === path);

/**
 * The cool-down: a second call right after a failed flow makes no request at all — first
 * asserted for OAuth requests (no discovery), then for every request (not even the protected one).
 */
export const expectNoRequestsDuring = async <T>(world: World, run: () => Promise<T>) => {
  const before = world.records.length;
  const result = await run();
  const sent = world.records.slice(before).map((r) => `${r.method} ${new URL(r.url).pathname}`);
  expect(
    sent.filter((r) => !r.endsWith(" /mcp")),
    "OAuth requests during the cool-down",
  ).toEqual([]);
  // The application's own request still reaches the MCP server (it may be served without a
  // token); only the flow behind it is answered from the remembered failure.
  expect(sent.length, "requests during the cool-down").toBeLessThanOrEqual(1);
  return result;
};

/** A 401 from /mcp whose challenge is the given header value (for challenge cases). */
export const challengeRoute =
  (world: World, header: string | (() => string)) =>
  (req: ScriptedRequest): ScriptedResponse => {
    const auth = String(req.headers.authorization ?? "");
    if (auth.startsWith("Bearer ") && world.validTokens.has(auth.slice(7)))
      return json(200, { jsonrpc: "2.0", id: 1, result: { ok: true } });
    return {
      status: 401,
      headers: {
        "www-authenticate": typeof header === "string" ? header : header(),
        "content-type": "application/json",
      },
      body: "{}",
    };
  };
