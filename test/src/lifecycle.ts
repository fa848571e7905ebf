/**
 * The whole MCP authorization lifecycle, step by step, against a live MCP server: the 401
 * challenge, protected-resource metadata, authorization-server metadata, scope selection,
 * registration, the authorization request (through the given UserAgent), the token exchange,
 * then a protected tool call over MCP with the issued token. Until the statechart exists this is
 * how the steps compose; the demo prints what each step decided.
 */
import {
  type ClientSettings,
  CredentialStore,
  defaultRedirectUri,
  OAuthHttp,
  Protocol,
  Randomness,
  type TokenSet,
  UserAgent,
} from "@authchart/core";
import {
  authorize,
  discoverAuthServer,
  discoverResource,
  exchangeCode,
  register,
} from "@authchart/core/steps";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Effect, Layer, Redacted } from "effect";

export interface LifecycleOptions {
  readonly serverUrl: string;
  readonly settings: ClientSettings;
  readonly tool: { readonly name: string; readonly arguments: Record<string, unknown> };
  readonly openAuthorizationUrl: (url: string) => Promise<string>;
  readonly log?: (step: string, detail: string) => void;
}

export interface LifecycleResult {
  readonly tokens: TokenSet;
  readonly toolText: string;
}

/** The first, unauthenticated MCP request; its 401 challenge drives discovery (SPEC G3, D2, S1). */
const firstChallenge = async (serverUrl: string) => {
  const response = await fetch(serverUrl, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "authchart", version: "0" },
      },
    }),
  });
  await response.body?.cancel();
  return {
    status: response.status,
    challenge: Protocol.readResourceChallenge(response.headers.get("www-authenticate")),
  };
};

export const runLifecycle = (options: LifecycleOptions) => {
  const log = options.log ?? (() => {});
  const program = Effect.gen(function* () {
    const first = yield* Effect.promise(() => firstChallenge(options.serverUrl));
    log(
      "challenge",
      `${first.status}; scope=${first.challenge?.scope?.join(" ") ?? "(none)"}; resource_metadata=${first.challenge?.resourceMetadata ?? "(none)"}`,
    );

    const resource = yield* discoverResource({
      serverUrl: options.serverUrl,
      resourceMetadataUrl: first.challenge?.resourceMetadata,
    });
    log(
      "resource metadata",
      `${resource.metadataUrl} (${resource.source}) -> authorization server ${resource.authorizationServer}`,
    );

    const as = yield* discoverAuthServer(resource.authorizationServer);
    log(
      "authorization server metadata",
      `${as.metadataUrl} after ${as.attempts.length} attempt(s)`,
    );

    const selection = Protocol.selectScopes({
      configured: options.settings.scopes,
      challenged: first.challenge?.scope,
      resourceScopesSupported: resource.metadata.scopes_supported,
      authServerScopesSupported: as.metadata.scopes_supported,
      offlineAccess: options.settings.offlineAccess,
    });
    log(
      "scopes",
      `${selection.scopes.join(" ") || "(no scope parameter)"} from ${selection.source}${selection.offlineAccessAdded ? " + offline_access" : ""}`,
    );

    const { client, via } = yield* register({
      issuer: as.issuer,
      metadata: as.metadata,
      settings: options.settings,
      scopes: selection.scopes,
    });
    log(
      "client",
      `${via} client ${client.clientId} (${client.tokenEndpointAuthMethod ?? "default auth"})`,
    );

    const redirectUri = options.settings.redirectUris?.[0] ?? defaultRedirectUri;
    const grant = yield* authorize({
      issuer: as.issuer,
      metadata: as.metadata,
      client,
      redirectUri,
      resource: resource.resource,
      scopes: selection.scopes,
    });
    log(
      "authorization",
      `code received for ${grant.requestedScopes.join(" ")}; state and iss verified`,
    );

    const tokens = yield* exchangeCode({ issuer: as.issuer, metadata: as.metadata, client, grant });
    log(
      "tokens",
      `granted ${tokens.scopes.join(" ")}; expires in ${tokens.expiresAt ? Math.round((tokens.expiresAt - Date.now()) / 1000) : "?"} s; refresh token ${tokens.refreshToken ? "held" : "not issued"}`,
    );

    const toolText = yield* Effect.promise(() => callTool(options.serverUrl, tokens, options.tool));
    log("tool call", `${options.tool.name} -> ${toolText}`);
    return { tokens, toolText } satisfies LifecycleResult;
  });
  const layer = Layer.mergeAll(
    OAuthHttp.layerFetch({ allowInsecureLoopback: true }), // the demo servers are on loopback
    CredentialStore.layerMemory,
    Randomness.layer,
    UserAgent.fromPromise((prompt) => options.openAuthorizationUrl(prompt.url)),
  );
  return program.pipe(Effect.provide(layer));
};

/** An MCP SDK client with the bearer token on every request (SPEC T5). */
const callTool = async (serverUrl: string, tokens: TokenSet, tool: LifecycleOptions["tool"]) => {
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
    requestInit: { headers: { authorization: `Bearer ${Redacted.value(tokens.accessToken)}` } },
  });
  const client = new Client({ name: "authchart-e2e", version: "0.1.0" });
  await client.connect(transport);
  try {
    const result = await client.callTool({ name: tool.name, arguments: tool.arguments });
    const content = result.content as Array<{ type: string; text?: string }>;
    return content.map((c) => c.text ?? "").join("");
  } finally {
    await client.close();
  }
};
