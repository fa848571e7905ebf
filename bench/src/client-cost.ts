/**
 * npm run bench:client — the clients' own CPU per cold connect and per warm request, side by side
 * (authchart, @modelcontextprotocol/sdk 1.x, @modelcontextprotocol/client 2.x), over a fetch that
 * answers at once from memory: no server, no socket, so what is left is each client's own work
 * (authchart: statechart, Effect steps, decoding, persistence; the SDKs: their `auth()`; on the warm
 * path the header and the checks). It measures what the wall-time rows of `npm run bench` cannot
 * resolve on a noisy machine: those also carry the servers' work, the sockets and the machine's
 * mood. `npm run bench` runs it in its own process (`--json`) for two rows of its table. Nothing
 * is asserted.
 */
import { CredentialStore, createSession, type Session } from "@authchart/core";
import {
  auth as authV2,
  extractWWWAuthenticateParams as challengeV2,
  withOAuth as withOAuthV2,
} from "@modelcontextprotocol/client";
import {
  auth as authV1,
  extractWWWAuthenticateParams as challengeV1,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { withOAuth as withOAuthV1 } from "@modelcontextprotocol/sdk/client/middleware.js";
import { warmStore } from "./authchart.js";
import { type Kind, kinds, median, rotate } from "./rounds.js";
import { asV2, MemoryProvider, redirectUri } from "./sdk-clients.js";

const resourceOrigin = "http://127.0.0.1:4001";
const issuer = "http://127.0.0.1:4002";
const serverUrl = `${resourceOrigin}/mcp`;
const prmUrl = `${resourceOrigin}/.well-known/oauth-protected-resource/mcp`;
const warmToken = "access-warm-0123456789abcdef";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** A protected resource and its authorization server, answered from memory. */
const memoryServers = (): typeof globalThis.fetch => {
  let issued = 0;
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const authorization = new Headers(init?.headers).get("authorization");
    switch (url) {
      case serverUrl:
        return authorization === null
          ? new Response(null, {
              status: 401,
              headers: { "www-authenticate": `Bearer resource_metadata="${prmUrl}"` },
            })
          : json(200, { jsonrpc: "2.0", id: 1, result: {} });
      case prmUrl:
        return json(200, {
          resource: serverUrl,
          authorization_servers: [issuer],
          scopes_supported: ["mcp:read", "mcp:write"],
        });
      case `${issuer}/.well-known/oauth-authorization-server`:
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          registration_endpoint: `${issuer}/register`,
          response_types_supported: ["code"],
          grant_types_supported: ["authorization_code", "refresh_token"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported: ["none"],
          scopes_supported: ["mcp:read", "mcp:write", "offline_access"],
          authorization_response_iss_parameter_supported: true,
        });
      case `${issuer}/register`:
        issued += 1;
        return json(201, {
          client_id: `client-${issued}`,
          redirect_uris: [redirectUri],
          token_endpoint_auth_method: "none",
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
        });
      case `${issuer}/token`:
        return json(200, {
          access_token: `access-${issued}-0123456789abcdef`,
          token_type: "Bearer",
          expires_in: 3600,
          refresh_token: `refresh-${issued}-0123456789abcdef`,
          scope: "mcp:read mcp:write",
        });
      default:
        return new Response("not found", { status: 404 });
    }
  };
};

/** The user at the consent page: approves at once, the redirect carrying code, state and iss. */
const approveUrl = async (url: string) => {
  const state = new URL(url).searchParams.get("state") ?? "";
  return `${redirectUri}?code=code&state=${state}&iss=${encodeURIComponent(issuer)}`;
};
const approve = (prompt: { readonly url: string }) => approveUrl(prompt.url);

const cpuMicros = async (run: () => Promise<void>) => {
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};

/** Nothing stored, to the first authorized answer, then closed. */
const coldAuthchart = async () => {
  const session = await createSession({
    serverUrl,
    store: CredentialStore.memory(),
    client: { clientName: "bench", redirectUris: [redirectUri] },
    userAgent: approve,
    fetch: memoryServers(),
  });
  const response = await session.fetch(serverUrl, { method: "POST", body: "{}" });
  if (response.status !== 200) throw new Error(`cold connect ended with ${response.status}`);
  await session.close();
};

/**
 * The same for an SDK, the way its transport does it: the request, its 401, `auth()` to the
 * authorization redirect, `auth()` again with the code (what `finishAuth` calls), the request
 * with the token. Discovery is cached in the provider between the two, as both SDKs use it.
 */
const coldSdk = (auth: typeof authV1, challenge: typeof challengeV1, v2: boolean) => async () => {
  const fetchFn = memoryServers();
  const provider = new MemoryProvider(approveUrl);
  const asProvider = (v2 ? asV2(provider) : provider) as Parameters<typeof authV1>[0];
  const first = await fetchFn(serverUrl, { method: "POST", body: "{}" });
  const { resourceMetadataUrl, scope } = challenge(first);
  const options = {
    serverUrl,
    fetchFn,
    ...(resourceMetadataUrl === undefined ? {} : { resourceMetadataUrl }),
    ...(scope === undefined ? {} : { scope }),
  };
  if ((await auth(asProvider, options)) !== "REDIRECT") throw new Error("no authorization");
  const redirect = new URL(provider.lastRedirect ?? "").searchParams;
  const authorizationCode = redirect.get("code") ?? "";
  // 2.x checks the response's `iss` (RFC 9207), as its finishAuth passes it; 1.x takes the code only.
  const iss = v2 ? { iss: redirect.get("iss") ?? "" } : {};
  if ((await auth(asProvider, { ...options, authorizationCode, ...iss })) !== "AUTHORIZED")
    throw new Error("not authorized");
  const token = provider.tokens()?.access_token ?? "";
  const response = await fetchFn(serverUrl, {
    method: "POST",
    body: "{}",
    headers: { authorization: `Bearer ${token}` },
  });
  if (response.status !== 200) throw new Error(`cold connect ended with ${response.status}`);
};

const coldConnects: Record<Kind, () => Promise<void>> = {
  authchart: coldAuthchart,
  sdk1: coldSdk(authV1, challengeV1, false),
  sdk2: coldSdk(authV2 as unknown as typeof authV1, challengeV2, true),
};

/** A session restored from a store holding what a login leaves (the bench's warm store). */
const warmSession = async (fetch: typeof globalThis.fetch): Promise<Session> =>
  createSession({
    serverUrl,
    store: await warmStore(serverUrl, warmToken),
    client: { clientName: "bench", redirectUris: [redirectUri] },
    fetch,
  });

export interface ClientCost {
  /** Own CPU per cold connect, ms (median). */
  readonly coldMs: Record<Kind, number>;
  /** Own CPU per warm request beyond the fetch itself, µs (median). */
  readonly warmMicros: Record<Kind, number>;
}

const measure = async (): Promise<ClientCost> => {
  // Cold connects, the three interleaved: a few first (module loading, the first compilations),
  // then measured one by one.
  for (let i = 0; i < 5; i++) for (const k of kinds) await coldConnects[k]();
  const cold: Record<Kind, number[]> = { authchart: [], sdk1: [], sdk2: [] };
  for (let i = 0; i < 200; i++)
    for (const k of rotate(kinds, i)) cold[k].push(await cpuMicros(coldConnects[k]));

  // Warm requests: each client's fetch and the same fetch called directly (with the header the
  // client would add), block by block; a request's cost is its block's minus the direct block's.
  // A fetch that reads nothing it is given: the headers' shape (a record, a Headers, one entry
  // more or less) costs the client that built them, not this fetch.
  const direct: typeof globalThis.fetch = async () =>
    new Response('{"jsonrpc":"2.0","id":1,"result":{}}', {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  const session = await warmSession(direct);
  const headers = { "content-type": "application/json" };
  const tokens = { access_token: warmToken, token_type: "Bearer" };
  const refuse = () => Promise.reject(new Error("no authorization on the warm path"));
  const sdk1 = withOAuthV1(new MemoryProvider(refuse, tokens), serverUrl)(direct);
  const sdk2 = withOAuthV2(
    asV2(new MemoryProvider(refuse, tokens)) as Parameters<typeof withOAuthV2>[0],
    serverUrl,
  )(direct);
  const init = { method: "POST", body: "{}", headers };
  const via: Record<Kind | "direct", () => Promise<Response>> = {
    direct: () =>
      direct(serverUrl, { ...init, headers: { ...headers, authorization: `Bearer ${warmToken}` } }),
    authchart: () => session.fetch(serverUrl, init),
    sdk1: () => sdk1(serverUrl, init),
    sdk2: () => sdk2(serverUrl, init),
  };
  const block = (f: () => Promise<Response>) => async () => {
    for (let i = 0; i < 1000; i++) await f();
  };
  for (const f of Object.values(via)) for (let i = 0; i < 5; i++) await block(f)();
  const own: Record<Kind, number[]> = { authchart: [], sdk1: [], sdk2: [] };
  for (let r = 0; r < 30; r++)
    for (const k of rotate(kinds, r)) {
      const [a, b] = r % 2 === 0 ? [via[k], via.direct] : [via.direct, via[k]];
      const first = await cpuMicros(block(a));
      const second = await cpuMicros(block(b));
      const [withClient, without] = r % 2 === 0 ? [first, second] : [second, first];
      own[k].push((withClient - without) / 1000);
    }
  await session.close();
  const per = (f: (k: Kind) => number) =>
    Object.fromEntries(kinds.map((k) => [k, f(k)])) as Record<Kind, number>;
  return {
    coldMs: per((k) => median(cold[k]) / 1000),
    warmMicros: per((k) => median(own[k])),
  };
};

const main = async () => {
  const cost = await measure();
  if (process.argv.includes("--json")) {
    process.stdout.write(`${JSON.stringify(cost)}\n`);
    return;
  }
  const line = (label: string, f: (k: Kind) => string) =>
    `  ${label.padEnd(58)}${kinds.map((k) => f(k).padStart(12)).join("")}`;
  process.stdout.write(
    [
      "The clients' own CPU, over a fetch answered from memory (median):",
      line("", (k) => k),
      line(
        "cold connect (discovery, registration, token, 2 requests)",
        (k) => `${cost.coldMs[k].toFixed(2)} ms`,
      ),
      line("warm request, beyond the fetch itself", (k) => `${cost.warmMicros[k].toFixed(2)} µs`),
      "",
    ].join("\n"),
  );
};

await main();
