#!/usr/bin/env node
/**
 * The client command for the official MCP conformance suite (@modelcontextprotocol/conformance).
 *
 *   node examples/conformance-client <mcp-server-url>
 *
 * The suite appends the MCP server URL as the last argument and sets MCP_CONFORMANCE_SCENARIO,
 * and MCP_CONFORMANCE_CONTEXT (JSON) when a scenario hands the client credentials. This program
 * connects with the MCP SDK client (initialize), lists the tools, calls `test-tool` with `{}`,
 * closes and exits 0 — or prints one line naming the failure and exits non-zero.
 *
 * It only wires authchart's public API: client settings from the credentials the scenario's
 * context gives (and the grant they are for), the headless user agent and the documented
 * same-origin-path-prefix resource policy. Discovery, scope choice, step-up, the loop guard,
 * client authentication, DPoP and the iss checks are all the library's.
 */
import {
  createSession,
  type GrantSettings,
  headlessUserAgent,
  OAuthHttp,
  type PreRegisteredClient,
} from "@authchart/core";
import { discoverResource } from "@authchart/core/steps";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Effect, Redacted } from "effect";

/** The client ID metadata document URL the suite expects (nobody serves it; it is an id here). */
const clientMetadataUrl = "https://conformance-test.local/client-metadata.json";
/** Nothing listens here: the headless user agent reads the callback from the Location header. */
const redirectUri = "http://127.0.0.1:33418/callback";
/** The suite's own timeout is 30 s; give up earlier with a clear message. */
const deadlineFromEnv = Number(process.env.AUTHCHART_CONFORMANCE_DEADLINE_MS);
const deadlineMillis =
  Number.isFinite(deadlineFromEnv) && deadlineFromEnv > 0 ? deadlineFromEnv : 20_000;

class UsageError extends Error {
  readonly _tag = "UsageError";
}

class DeadlineExceeded extends Error {
  readonly _tag = "DeadlineExceeded";
}

/** The scenario's context (MCP_CONFORMANCE_CONTEXT): a JSON object of strings, or nothing. */
const contextFrom = (contextJson: string | undefined): Readonly<Record<string, string>> => {
  if (contextJson === undefined || contextJson === "") return {};
  let context: unknown;
  try {
    context = JSON.parse(contextJson);
  } catch {
    throw new UsageError("MCP_CONFORMANCE_CONTEXT is not JSON");
  }
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw new UsageError("MCP_CONFORMANCE_CONTEXT is not a JSON object");
  }
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (typeof value !== "string")
      throw new UsageError(`MCP_CONFORMANCE_CONTEXT: ${key} is not a string`);
    strings[key] = value;
  }
  return strings;
};

/** A PKCS#8 PEM private key for private_key_jwt (RFC 7523 §2.2), as a WebCrypto signing key. */
const signingKeyFrom = async (pem: string, algorithm: string | undefined) => {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
  const params =
    algorithm === undefined || algorithm === "ES256"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : algorithm === "RS256"
        ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
        : undefined;
  if (params === undefined) throw new UsageError(`unsupported signing_algorithm ${algorithm}`);
  return { key: await crypto.subtle.importKey("pkcs8", der, params, false, ["sign"]) };
};

/** The grant the context's credentials are for (see clientFrom). */
const grantFor = (context: Readonly<Record<string, string>>, hasKey: boolean): GrantSettings =>
  context.idp_id_token !== undefined
    ? {
        type: "cross_app_access",
        identityProvider: {
          issuer: context.idp_issuer ?? "",
          tokenEndpoint: context.idp_token_endpoint,
          clientId: context.idp_client_id ?? "",
          tokenEndpointAuthMethod: "none",
        },
        idToken: () => context.idp_id_token ?? "",
      }
    : context.valid_jwt !== undefined
      ? { type: "jwt_bearer", assertion: () => context.valid_jwt ?? "" }
      : hasKey || context.name?.includes("client-credentials")
        ? { type: "client_credentials" }
        : { type: "authorization_code" };

/** The authorization server the MCP server's protected-resource metadata names (RFC 9728 §3). */
const authorizationServerOf = async (serverUrl: string) =>
  Effect.runPromise(
    discoverResource({ serverUrl, policy: "same-origin-path-prefix" }).pipe(
      Effect.map((found) => found.authorizationServer),
      Effect.provide(
        OAuthHttp.layerFetch({ allowInsecureLoopback: true, allowPrivateNetwork: true }),
      ),
    ),
  );

/**
 * The client settings the context's credentials call for: pre-registered credentials (bound to
 * the issuer when given), a signing key for private_key_jwt, and the grant they are for. The
 * grant follows from the credentials: an enterprise ID token means cross-app access, a workload
 * JWT the JWT bearer grant, a private key client credentials; a client id and secret serve the
 * authorization code — or client credentials when the context names that scenario, the one
 * shape two scenarios share.
 */
const clientFrom = async (serverUrl: string, context: Readonly<Record<string, string>>) => {
  const { client_id, client_secret, private_key_pem, signing_algorithm } = context;
  if (client_id === undefined) return {};
  const signingKey =
    private_key_pem === undefined
      ? undefined
      : await signingKeyFrom(private_key_pem, signing_algorithm);
  const grant = grantFor(context, signingKey !== undefined);
  // A grant without a user needs the issuer its credentials belong to (the library refuses an
  // issuer-less client there); these test credentials belong to the suite's own authorization
  // server, found the way the library finds it.
  const issuer =
    context.issuer ??
    (grant.type === "authorization_code" ? undefined : await authorizationServerOf(serverUrl));
  const preRegistered: PreRegisteredClient[] = [
    {
      clientId: client_id,
      issuer,
      clientSecret: client_secret === undefined ? undefined : Redacted.make(client_secret),
      signingKey,
      tokenEndpointAuthMethod:
        signingKey !== undefined
          ? "private_key_jwt"
          : client_secret === undefined
            ? "none"
            : undefined,
    },
  ];
  return { preRegistered, grant };
};

const field = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;

/** One line: the typed error's tag and message (authchart's messages never carry a secret). */
const describeFailure = (error: unknown): string => {
  // The MCP SDK may wrap the authorized fetch's error: use the first tagged one on the cause chain.
  let tagged: unknown = error;
  for (let depth = 0; depth < 5 && typeof field(tagged, "_tag") !== "string"; depth++) {
    tagged = field(tagged, "cause");
  }
  const found = typeof field(tagged, "_tag") === "string" ? tagged : error;
  const tag = field(found, "_tag") ?? (found instanceof Error ? found.name : "Error");
  const message = field(found, "message") ?? String(found);
  // An untyped error (e.g. undici's "fetch failed") says what happened in its cause.
  const cause = found === tagged ? undefined : field(field(found, "cause"), "message");
  const line = `${String(tag)}: ${String(message)}${cause === undefined ? "" : ` (${String(cause)})`}`;
  return line.replace(/\s+/g, " ").slice(0, 600);
};

const run = async (serverUrl: string, signal: AbortSignal): Promise<string> => {
  const session = await createSession({
    serverUrl,
    client: {
      clientName: "authchart conformance client",
      redirectUris: [redirectUri],
      clientMetadataUrl,
      ...(await clientFrom(serverUrl, contextFrom(process.env.MCP_CONFORMANCE_CONTEXT))),
    },
    userAgent: headlessUserAgent(),
    // The suite's servers publish their origin as the resource while serving /mcp (RFC 9728 §3.3
    // says identical); this documented opt-in accepts a same-origin path prefix, never another origin.
    resourcePolicy: "same-origin-path-prefix",
    // Every suite server is plain http on localhost.
    http: { allowInsecureLoopback: true },
  });
  if (process.env.AUTHCHART_TRACE) {
    session.onTrace((entry) => console.error(`trace: ${entry.decision}: ${entry.reason}`));
  }
  const transport = new StreamableHTTPClientTransport(new URL(serverUrl), {
    fetch: session.fetch,
  });
  const client = new Client({ name: "authchart-conformance-client", version: "0.0.0" });
  const onAbort = () => void client.close().catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    await client.callTool({ name: "test-tool", arguments: {} });
    return `initialize, tools/list (${tools.length} tools), tools/call test-tool`;
  } finally {
    signal.removeEventListener("abort", onAbort);
    await client.close().catch(() => undefined);
    await session.close().catch(() => undefined);
  }
};

const main = async (): Promise<number> => {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "(no scenario)";
  const serverUrl = process.argv.length > 2 ? process.argv[process.argv.length - 1] : undefined;
  const prefix = `authchart conformance client [${scenario}]`;
  if (serverUrl === undefined || !URL.canParse(serverUrl)) {
    console.error(`${prefix}: usage: node examples/conformance-client <mcp-server-url>`);
    return 2;
  }
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new DeadlineExceeded(`no result within ${deadlineMillis} ms`);
      controller.abort(error);
      reject(error);
    }, deadlineMillis);
  });
  try {
    const done = await Promise.race([run(serverUrl, controller.signal), deadline]);
    console.log(`${prefix}: ok: ${done}`);
    return 0;
  } catch (error) {
    console.error(`${prefix}: failed: ${describeFailure(error)}`);
    return error instanceof DeadlineExceeded ? 3 : 1;
  } finally {
    clearTimeout(timer);
  }
};

// Exit explicitly: a keep-alive socket or a cancelled flow must not keep the process alive.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`authchart conformance client: crashed: ${describeFailure(error)}`);
    process.exit(1);
  },
);
