/**
 * npm run bench:client — authchart's own CPU per cold connect and per warm request, over a fetch
 * that answers at once from memory: no server, no socket, so what is left is the client's work
 * (statechart, Effect steps, decoding, persistence; on the warm path the header and the checks).
 * A regression measure for the cold-connect and warm-fetch rows of `npm run bench`, whose wall
 * times also carry the servers' work and the machine's noise. Nothing is asserted.
 */
import { CredentialStore, createSession, type Session } from "@authchart/core";
import { warmStore } from "./authchart.js";
import { redirectUri } from "./sdk-clients.js";

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
const approve = async (prompt: { readonly url: string }) => {
  const state = new URL(prompt.url).searchParams.get("state") ?? "";
  return `${redirectUri}?code=code&state=${state}&iss=${encodeURIComponent(issuer)}`;
};

const cpuMicros = async (run: () => Promise<void>) => {
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  return c.user + c.system;
};

const median = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? Number.NaN;

/** Nothing stored, to the first authorized answer, then closed. */
const coldConnect = async () => {
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

/** A session restored from a store holding what a login leaves (the bench's warm store). */
const warmSession = async (): Promise<Session> =>
  createSession({
    serverUrl,
    store: await warmStore(serverUrl, warmToken),
    client: { clientName: "bench", redirectUris: [redirectUri] },
    fetch: memoryServers(),
  });

const main = async () => {
  // Cold connects: a few first (module loading, the first compilations), then measured one by one.
  for (let i = 0; i < 5; i++) await coldConnect();
  const cold: number[] = [];
  for (let i = 0; i < 200; i++) cold.push(await cpuMicros(coldConnect));

  // Warm requests: the session's fetch against the same fetch called directly, block by block.
  const session = await warmSession();
  const direct = memoryServers();
  const headers = { authorization: `Bearer ${warmToken}` };
  const viaSession = () => session.fetch(serverUrl, { method: "POST", body: "{}" });
  const viaDirect = () => direct(serverUrl, { method: "POST", body: "{}", headers });
  const block = (f: () => Promise<Response>) => async () => {
    for (let i = 0; i < 1000; i++) await f();
  };
  for (let i = 0; i < 5; i++) await block(viaSession)();
  const own: number[] = [];
  for (let r = 0; r < 30; r++) {
    const [a, b] = r % 2 === 0 ? [viaSession, viaDirect] : [viaDirect, viaSession];
    const first = await cpuMicros(block(a));
    const second = await cpuMicros(block(b));
    const [withSession, without] = r % 2 === 0 ? [first, second] : [second, first];
    own.push((withSession - without) / 1000);
  }
  await session.close();

  process.stdout.write(
    [
      "authchart's own CPU, over a fetch answered from memory (median):",
      `  cold connect (discovery, registration, authorization, token, first request): ${(median(cold) / 1000).toFixed(2)} ms`,
      `  warm request through session.fetch, beyond the fetch itself: ${median(own).toFixed(1)} µs`,
      "",
    ].join("\n"),
  );
};

await main();
