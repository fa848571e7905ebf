/**
 * The protected MCP server: @modelcontextprotocol/sdk's McpServer over a stateless
 * StreamableHTTPServerTransport (or, with `transport: "sse"`, the deprecated HTTP+SSE transport)
 * on its own node:http server, guarded by bearer-token checks
 * (RFC 6750) — and DPoP proof checks for DPoP-bound tokens (RFC 9449 §7, dpop.ts) — against the
 * testkit AS, publishing Protected Resource Metadata (RFC 9728) and answering with the
 * WWW-Authenticate challenges the options ask for.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { z } from "zod";
import { createDpopVerifier, type DpopCheck } from "./dpop.js";
import {
  type Handler,
  type LoopbackServer,
  listenLoopback,
  pathnameOf,
  type RequestLog,
  readBody,
  sendJson,
} from "./http.js";
import type { McpServerOptions, ToolDefinition } from "./types.js";

export const DEFAULT_TOOLS: readonly ToolDefinition[] = [
  { name: "echo", scope: "mcp:read" },
  { name: "write-note", scope: "mcp:write" },
  { name: "admin-report", scope: "mcp:admin" },
];

const PRM_WELL_KNOWN = "/.well-known/oauth-protected-resource";

export interface McpServerSetup {
  readonly options: McpServerOptions;
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
  readonly isRevoked: (jti: string) => boolean;
  readonly log: RequestLog;
}

export interface ProtectedMcpServer {
  readonly origin: string;
  readonly mcpUrl: string;
  /** A new DPoP nonce (RFC 9449 §9): proofs with the old one get 401 use_dpop_nonce. */
  rotateDpopNonce(): void;
  close(): Promise<void>;
}

export function normalizeMcpPath(path: string | undefined): string {
  if (path === undefined) return "/mcp";
  return path.startsWith("/") ? path : `/${path}`;
}

export function toolScopes(tools: readonly ToolDefinition[]): string[] {
  return [...new Set(tools.map((t) => t.scope))];
}

/** An RFC 9110 quoted-string. */
function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function challenge(scheme: "Bearer" | "DPoP", params: readonly (readonly [string, string])[]) {
  if (params.length === 0) return scheme;
  return `${scheme} ${params.map(([k, v]) => `${k}=${quote(v)}`).join(", ")}`;
}

type Scheme = "Bearer" | "DPoP";

/**
 * The token of an `Authorization: Bearer …` or `Authorization: DPoP …` header (scheme
 * case-insensitive; RFC 6750 §2.1, RFC 9449 §7.1), if any.
 */
function presentedToken(
  req: IncomingMessage,
): { readonly scheme: Scheme; readonly token: string } | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^(bearer|dpop)[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { scheme: match[1].toLowerCase() === "dpop" ? "DPoP" : "Bearer", token: match[2] };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Who a request's access token speaks for. */
interface Caller {
  readonly scheme: Scheme;
  readonly token: string;
  readonly granted: ReadonlySet<string>;
  readonly clientId: string;
  readonly expiresAt: number | undefined;
}

interface JsonRpcCall {
  readonly method?: unknown;
  readonly params?: { readonly name?: unknown };
}

export async function startMcpServer(
  setup: McpServerSetup,
  bound?: LoopbackServer,
): Promise<ProtectedMcpServer> {
  const { options, issuer, log } = setup;
  const loopback = bound ?? (await listenLoopback());
  const mcpPath = normalizeMcpPath(options.path);
  const mcpUrl = `${loopback.origin}${mcpPath}`;
  const sse = options.transport === "sse";
  /** Where the HTTP+SSE transport takes the client's messages. */
  const messagesPath = `${mcpPath === "/" ? "" : mcpPath}/messages`;
  const tools = options.tools ?? DEFAULT_TOOLS;
  const scopes = toolScopes(tools);
  const toolScope = new Map(tools.map((t) => [t.name, t.scope]));
  const jwks = createLocalJWKSet(setup.jwks);

  const location = options.prmLocation ?? "both";
  const rootPrmPath = PRM_WELL_KNOWN;
  const pathAwarePrmPath = mcpPath === "/" ? PRM_WELL_KNOWN : `${PRM_WELL_KNOWN}${mcpPath}`;
  const prmPaths = new Set<string>();
  if (location !== "root") prmPaths.add(pathAwarePrmPath);
  if (location !== "path-aware") prmPaths.add(rootPrmPath);
  const advertisedPrm = `${loopback.origin}${location === "root" ? rootPrmPath : pathAwarePrmPath}`;

  // DPoP-bound tokens are always checked; the knobs add nonces, DPoP-only and advertising.
  const dpopOn = options.dpop !== undefined && options.dpop !== false;
  const dpop = createDpopVerifier(typeof options.dpop === "object" ? options.dpop : {});

  const prm: Record<string, unknown> = {
    resource: options.prmResource ?? mcpUrl,
    authorization_servers: [issuer],
    ...(options.scopesSupported === "omit"
      ? {}
      : { scopes_supported: [...(options.scopesSupported ?? scopes)] }),
    bearer_methods_supported: ["header"],
    // RFC 9728 §2.
    ...(dpopOn ? { dpop_signing_alg_values_supported: [...dpop.algorithms] } : {}),
    ...(dpop.required ? { dpop_bound_access_tokens_required: true } : {}),
  };

  const challengeScope =
    options.challengeScope === "none" ? [] : [...(options.challengeScope ?? scopes)];
  const withResourceMetadata = options.resourceMetadataInChallenge ?? true;
  const schemes = options.challengeSchemes ?? "bearer";

  /** RFC 9449 §7.1: a DPoP challenge names the proof algorithms accepted. */
  const dpopChallenge = (params: [string, string][]) =>
    challenge("DPoP", [...params, ["algs", dpop.algorithms.join(" ")]]);

  /**
   * The challenges of a 401/403: for a token presented as DPoP (or a DPoP-only server) one DPoP
   * challenge; otherwise Bearer as the options say, followed by a bare DPoP challenge when DPoP
   * is on.
   */
  const wwwAuthenticate = (params: [string, string][], scheme: Scheme = "Bearer") => {
    if (scheme === "DPoP" || dpop.required) return dpopChallenge(params);
    const bearer = challenge("Bearer", params);
    const offered = dpopOn ? `${bearer}, ${dpopChallenge([])}` : bearer;
    switch (schemes) {
      case "several":
        return `Basic realm="mcp", ${offered}`;
      case "several-lines":
        return ['Basic realm="mcp"', offered];
      default:
        return offered;
    }
  };

  const commonParams = (): [string, string][] => {
    const params: [string, string][] = [];
    if (withResourceMetadata) params.push(["resource_metadata", advertisedPrm]);
    if (challengeScope.length > 0) params.push(["scope", challengeScope.join(" ")]);
    return params;
  };

  const unauthorized = (res: ServerResponse, description?: string, scheme: Scheme = "Bearer") => {
    const params = commonParams();
    if (description !== undefined) {
      params.unshift(["error", "invalid_token"], ["error_description", description]);
    }
    sendJson(
      res,
      401,
      {
        error: description === undefined ? "unauthorized" : "invalid_token",
        ...(description ? { error_description: description } : {}),
      },
      { "www-authenticate": wwwAuthenticate(params, scheme) },
    );
  };

  /** RFC 9449 §7.1, §9: a refused proof; `use_dpop_nonce` comes with the nonce to use. */
  const dpopRefused = (res: ServerResponse, check: Exclude<DpopCheck, { ok: true }>) => {
    const params: [string, string][] = [
      ["error", check.error],
      ["error_description", check.description],
    ];
    if (withResourceMetadata) params.push(["resource_metadata", advertisedPrm]);
    sendJson(
      res,
      401,
      { error: check.error, error_description: check.description },
      {
        "www-authenticate": dpopChallenge(params),
        ...(check.error === "use_dpop_nonce" ? { "dpop-nonce": dpop.nonce() } : {}),
      },
    );
  };

  const buildServer = (): McpServer => {
    const server = new McpServer({ name: "authchart-testkit", version: "0.1.0" });
    for (const tool of tools) {
      server.registerTool(
        tool.name,
        {
          description: `Needs scope ${tool.scope}. Answers with its text argument.`,
          inputSchema: { text: z.string().optional() },
        },
        async ({ text }) => ({
          content: [
            {
              type: "text",
              text: tool.name === "echo" ? (text ?? "") : `${tool.name}: ${text ?? ""}`,
            },
          ],
        }),
      );
    }
    return server;
  };

  /**
   * The caller behind a request's access token, or undefined once the request has been answered
   * 401: bearer checks (RFC 6750 §3.1) and, for DPoP, the proof (RFC 9449 §7.1). Both transports
   * run the same checks on every request.
   */
  const authenticate = async (
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<Caller | undefined> => {
    const presented = presentedToken(req);
    if (presented === undefined) {
      unauthorized(res);
      return undefined;
    }
    const { scheme, token } = presented;
    if (scheme === "Bearer" && dpop.required) {
      unauthorized(res, "only DPoP-bound access tokens are accepted", "DPoP");
      return undefined;
    }
    let granted: Set<string>;
    let clientId = "";
    let expiresAt: number | undefined;
    let jkt: string | undefined;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: mcpUrl,
        typ: "at+jwt",
        algorithms: ["RS256"],
      });
      if (typeof payload.jti === "string" && setup.isRevoked(payload.jti)) {
        unauthorized(res, "the access token expired", scheme);
        return undefined;
      }
      granted = new Set(typeof payload.scope === "string" ? payload.scope.split(" ") : []);
      if (typeof payload.client_id === "string") clientId = payload.client_id;
      expiresAt = payload.exp;
      if (isRecord(payload.cnf) && typeof payload.cnf.jkt === "string") jkt = payload.cnf.jkt;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      unauthorized(
        res,
        code === "ERR_JWT_EXPIRED" ? "the access token expired" : "the access token is not valid",
        scheme,
      );
      return undefined;
    }

    // RFC 9449 §7.1: a DPoP-bound token only as `Authorization: DPoP` with a proof of its key;
    // a Bearer presentation of it is refused, as is a DPoP presentation of an unbound token.
    if (jkt !== undefined || scheme === "DPoP") {
      if (scheme !== "DPoP") {
        unauthorized(
          res,
          "the access token is DPoP-bound; present it as DPoP with a proof",
          "DPoP",
        );
        return undefined;
      }
      if (jkt === undefined) {
        unauthorized(res, "the access token is not DPoP-bound", "DPoP");
        return undefined;
      }
      const check = await dpop.verify(req, `${loopback.origin}${req.url ?? "/"}`, token, jkt);
      if (!check.ok) {
        dpopRefused(res, check);
        return undefined;
      }
    }
    return { scheme, token, granted, clientId, expiresAt };
  };

  /** The request's JSON body, or undefined once the request has been answered 400. */
  const readJson = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      return { parsed: JSON.parse(await readBody(req, 4 * 1024 * 1024)) as unknown };
    } catch {
      sendJson(res, 400, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: "Parse error" },
      });
      return undefined;
    }
  };

  /**
   * Tool-level scopes, checked on the JSON-RPC body before the transport sees it: a tools/call
   * whose scope the token lacks is answered 403 insufficient_scope (RFC 6750 §3.1). True when
   * the request was answered.
   */
  const refusedForScope = (parsed: unknown, caller: Caller, res: ServerResponse): boolean => {
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcCall[];
    for (const message of messages) {
      if (message?.method !== "tools/call") continue;
      const name = message.params?.name;
      const needed = typeof name === "string" ? toolScope.get(name) : undefined;
      if (needed !== undefined && !caller.granted.has(needed)) {
        const params: [string, string][] = [
          ["error", "insufficient_scope"],
          ["scope", needed],
        ];
        if (withResourceMetadata) params.push(["resource_metadata", advertisedPrm]);
        sendJson(
          res,
          403,
          { error: "insufficient_scope", error_description: `tool ${name} needs scope ${needed}` },
          { "www-authenticate": wwwAuthenticate(params, caller.scheme) },
        );
        return true;
      }
    }
    return false;
  };

  /** What the SDK's transports hand to the server as `extra.authInfo`. */
  const authInfo = (caller: Caller) => ({
    token: caller.token,
    clientId: caller.clientId,
    scopes: [...caller.granted],
    ...(caller.expiresAt === undefined ? {} : { expiresAt: caller.expiresAt }),
  });

  /** Streamable HTTP, stateless: a new server and transport per POST. */
  const handleStreamable = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const caller = await authenticate(req, res);
    if (caller === undefined) return;
    if (req.method !== "POST") {
      // Stateless: no standalone SSE stream (GET) and no sessions to delete (DELETE).
      sendJson(res, 405, { error: "method_not_allowed" }, { allow: "POST" });
      return;
    }
    const body = await readJson(req, res);
    if (body === undefined || refusedForScope(body.parsed, caller, res)) return;

    const server = buildServer();
    // No sessionIdGenerator: stateless mode.
    const transport = new StreamableHTTPServerTransport({
      enableJsonResponse: options.jsonResponse ?? true,
    });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(Object.assign(req, { auth: authInfo(caller) }), res, body.parsed);
  };

  /**
   * The deprecated HTTP+SSE transport (MCP 2024-11-05): a GET on the MCP URL opens the event
   * stream, whose first event names the endpoint (with a session id) that takes the client's
   * messages as POSTs; answers come on the stream. A POST on the MCP URL is 405, so that a client
   * probing for Streamable HTTP falls back (MCP "Transports", backwards compatibility).
   * @see https://modelcontextprotocol.io/specification/2024-11-05/basic/transports#http-with-sse
   */
  const sseSessions = new Map<string, SSEServerTransport>();
  const handleSseStream = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const caller = await authenticate(req, res);
    if (caller === undefined) return;
    if (req.method !== "GET") {
      sendJson(res, 405, { error: "method_not_allowed" }, { allow: "GET" });
      return;
    }
    const server = buildServer();
    const transport = new SSEServerTransport(messagesPath, res);
    sseSessions.set(transport.sessionId, transport);
    res.on("close", () => {
      sseSessions.delete(transport.sessionId);
      void server.close();
    });
    await server.connect(transport);
  };
  const handleSseMessage = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const caller = await authenticate(req, res);
    if (caller === undefined) return;
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "method_not_allowed" }, { allow: "POST" });
      return;
    }
    const body = await readJson(req, res);
    if (body === undefined || refusedForScope(body.parsed, caller, res)) return;
    const sessionId = new URL(req.url ?? "/", loopback.origin).searchParams.get("sessionId");
    const transport = sessionId === null ? undefined : sseSessions.get(sessionId);
    if (transport === undefined) {
      sendJson(res, 404, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32001, message: "Session not found" },
      });
      return;
    }
    await transport.handlePostMessage(
      Object.assign(req, { auth: authInfo(caller) }),
      res,
      body.parsed,
    );
  };

  const handler: Handler = async (req, res) => {
    const path = pathnameOf(req);
    log.track(req, res, "mcp", () => ({
      kind: prmPaths.has(path)
        ? "prm"
        : path === mcpPath || (sse && path === messagesPath)
          ? "mcp"
          : "other",
    }));
    if (prmPaths.has(path)) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendJson(res, 405, { error: "method_not_allowed" }, { allow: "GET" });
        return;
      }
      sendJson(res, 200, prm);
      return;
    }
    if (path === mcpPath) {
      await (sse ? handleSseStream(req, res) : handleStreamable(req, res));
      return;
    }
    if (sse && path === messagesPath) {
      await handleSseMessage(req, res);
      return;
    }
    sendJson(res, 404, { error: "not_found" });
  };
  loopback.setHandler(handler);

  return {
    origin: loopback.origin,
    mcpUrl,
    rotateDpopNonce: () => dpop.rotateNonce(),
    close: () => loopback.close(),
  };
}
