/**
 * The two MCP SDK generations driven the way their users write it: an OAuthClientProvider kept in
 * memory, the transport's own authProvider handling 401/403, and on UnauthorizedError the
 * documented dance — send the user to the authorization URL, `transport.finishAuth(...)` with the
 * redirect's parameters (once per authorization), try again once. The "user" here is testkit's headless user.
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from "@modelcontextprotocol/client";
import type {
  OAuthClientProvider,
  OAuthDiscoveryState,
} from "@modelcontextprotocol/sdk/client/auth.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport as TransportV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type {
  OAuthClientInformationMixed,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";

export const redirectUri = "http://127.0.0.1:33419/callback";

/** One provider per client, all state in memory (the SDK READMEs' shape). */
export class MemoryProvider implements OAuthClientProvider {
  private info: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = "";
  /** Where the last authorization ended (the redirect with code, state, iss). */
  lastRedirect: string | undefined;

  constructor(
    private readonly authorize: (url: string) => Promise<string>,
    tokens?: OAuthTokens,
  ) {
    this.saved = tokens;
  }
  get redirectUrl() {
    return redirectUri;
  }
  get clientMetadata() {
    return {
      client_name: "bench",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  async redirectToAuthorization(url: URL) {
    this.lastRedirect = await this.authorize(url.href);
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  // Optional in both SDKs, but what lets them recover from invalid_grant (a rotated refresh token
  // reused) by authorizing again instead of refreshing with the dead token: the SDKs at their best.
  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery") {
    if (scope === "all" || scope === "client") this.info = undefined;
    if (scope === "all" || scope === "tokens") this.saved = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = "";
    if (scope === "all" || scope === "discovery") this.discovery = undefined;
  }
  // Discovery cached with the verifier, as 2.x asks (and 1.x uses when present).
  private discovery: OAuthDiscoveryState | undefined;
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}

export type V2Provider = ConstructorParameters<typeof TransportV2>[1] extends infer O
  ? O extends { authProvider?: infer P }
    ? P
    : never
  : never;
export const asV2 = (p: MemoryProvider) => p as unknown as V2Provider;

/** What the storms need of either SDK: connect (with the OAuth dance) and call a tool. */
export interface SdkClient {
  call(tool: string): Promise<boolean>;
  /** Why calls failed: error name and message, counted (never a token: the SDKs' messages). */
  readonly failures: Map<string, number>;
  close(): Promise<void>;
}

const ok = (r: unknown) => !(r as { isError?: boolean }).isError;

export const connectV1 = async (
  url: string,
  provider: MemoryProvider,
  options: { fetch?: typeof fetch } = {},
): Promise<SdkClient> => {
  const make = () => {
    const transport = new TransportV1(
      new URL(url),
      options.fetch === undefined ? { authProvider: provider } : { fetch: options.fetch },
    );
    return { transport, client: new ClientV1({ name: "bench", version: "0.0.0" }) };
  };
  let c = make();
  try {
    await c.client.connect(c.transport);
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || provider.lastRedirect === undefined) throw e;
    await c.transport.finishAuth(codeOf(provider.lastRedirect));
    c = make();
    await c.client.connect(c.transport);
  }
  const { client, transport } = c;
  const once = async (tool: string) => ok(await client.callTool({ name: tool, arguments: {} }));
  const failures = new Map<string, number>();
  // A careful user exchanges each authorization's code once; calls that failed on the same
  // authorization wait for that exchange and retry.
  const exchanges = new Map<string, Promise<void>>();
  const once_ = (redirect: string, exchange: () => Promise<void>) => {
    const known = exchanges.get(redirect);
    if (known !== undefined) return known;
    const started = exchange();
    exchanges.set(redirect, started);
    return started;
  };
  const fail = (e: unknown) => {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    failures.set(why, (failures.get(why) ?? 0) + 1);
    return false;
  };
  return {
    failures,
    call: async (tool) => {
      try {
        return await once(tool);
      } catch (e) {
        if (!(e instanceof UnauthorizedError) || provider.lastRedirect === undefined)
          return fail(e);
        try {
          await once_(provider.lastRedirect, () =>
            transport.finishAuth(codeOf(provider.lastRedirect ?? "")),
          );
          return await once(tool);
        } catch (e2) {
          return fail(e2);
        }
      }
    },
    close: () => client.close(),
  };
};

const isUnauthorizedV2 = (e: unknown) =>
  (e as { name?: string } | null)?.name === "UnauthorizedError";

export const connectV2 = async (url: string, provider: MemoryProvider): Promise<SdkClient> => {
  const make = () => {
    const transport = new TransportV2(new URL(url), { authProvider: asV2(provider) });
    return { transport, client: new ClientV2({ name: "bench", version: "0.0.0" }) };
  };
  let c = make();
  try {
    await c.client.connect(c.transport);
  } catch (e) {
    if (!isUnauthorizedV2(e) || provider.lastRedirect === undefined) throw e;
    await c.transport.finishAuth(new URL(provider.lastRedirect).searchParams);
    c = make();
    await c.client.connect(c.transport);
  }
  const { client, transport } = c;
  const once = async (tool: string) => ok(await client.callTool({ name: tool, arguments: {} }));
  const failures = new Map<string, number>();
  // A careful user exchanges each authorization's code once; calls that failed on the same
  // authorization wait for that exchange and retry.
  const exchanges = new Map<string, Promise<void>>();
  const once_ = (redirect: string, exchange: () => Promise<void>) => {
    const known = exchanges.get(redirect);
    if (known !== undefined) return known;
    const started = exchange();
    exchanges.set(redirect, started);
    return started;
  };
  const fail = (e: unknown) => {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    failures.set(why, (failures.get(why) ?? 0) + 1);
    return false;
  };
  return {
    failures,
    call: async (tool) => {
      try {
        return await once(tool);
      } catch (e) {
        if (!isUnauthorizedV2(e) || provider.lastRedirect === undefined) return fail(e);
        try {
          await once_(provider.lastRedirect, () =>
            transport.finishAuth(new URL(provider.lastRedirect ?? "").searchParams),
          );
          return await once(tool);
        } catch (e2) {
          return fail(e2);
        }
      }
    },
    close: () => client.close(),
  };
};

const codeOf = (redirect: string) => new URL(redirect).searchParams.get("code") ?? "";
