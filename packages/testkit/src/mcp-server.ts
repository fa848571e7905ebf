/**
 * The protected MCP server: @modelcontextprotocol/sdk's McpServer over a stateless
 * StreamableHTTPServerTransport on its own node:http server, guarded by bearer-token checks
 * (RFC 6750) against the testkit AS, publishing Protected Resource Metadata (RFC 9728) and
 * answering with the WWW-Authenticate challenges the options ask for.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { z } from "zod";
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

function bearerChallenge(params: readonly (readonly [string, string])[]): string {
  if (params.length === 0) return "Bearer";
  return `Bearer ${params.map(([k, v]) => `${k}=${quote(v)}`).join(", ")}`;
}

/** The token of an `Authorization: Bearer …` header (scheme case-insensitive), if any. */
function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match?.[1];
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

  const prm: Record<string, unknown> = {
    resource: options.prmResource ?? mcpUrl,
    authorization_servers: [issuer],
    ...(options.scopesSupported === "omit"
      ? {}
      : { scopes_supported: [...(options.scopesSupported ?? scopes)] }),
    bearer_methods_supported: ["header"],
  };

  const challengeScope =
    options.challengeScope === "none" ? [] : [...(options.challengeScope ?? scopes)];
  const withResourceMetadata = options.resourceMetadataInChallenge ?? true;
  const schemes = options.challengeSchemes ?? "bearer";

  const wwwAuthenticate = (params: [string, string][]): string | string[] => {
    const bearer = bearerChallenge(params);
    switch (schemes) {
      case "several":
        return `Basic realm="mcp", ${bearer}`;
      case "several-lines":
        return ['Basic realm="mcp"', bearer];
      default:
        return bearer;
    }
  };

  const commonParams = (): [string, string][] => {
    const params: [string, string][] = [];
    if (withResourceMetadata) params.push(["resource_metadata", advertisedPrm]);
    if (challengeScope.length > 0) params.push(["scope", challengeScope.join(" ")]);
    return params;
  };

  const unauthorized = (res: ServerResponse, description?: string) => {
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
      { "www-authenticate": wwwAuthenticate(params) },
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

  const handleMcp = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const token = bearerToken(req);
    if (token === undefined) {
      unauthorized(res);
      return;
    }
    let granted: Set<string>;
    let clientId = "";
    let expiresAt: number | undefined;
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: mcpUrl,
        typ: "at+jwt",
        algorithms: ["RS256"],
      });
      if (typeof payload.jti === "string" && setup.isRevoked(payload.jti)) {
        unauthorized(res, "the access token expired");
        return;
      }
      granted = new Set(typeof payload.scope === "string" ? payload.scope.split(" ") : []);
      if (typeof payload.client_id === "string") clientId = payload.client_id;
      expiresAt = payload.exp;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      unauthorized(
        res,
        code === "ERR_JWT_EXPIRED" ? "the access token expired" : "the access token is not valid",
      );
      return;
    }

    if (req.method !== "POST") {
      // Stateless: no standalone SSE stream (GET) and no sessions to delete (DELETE).
      sendJson(res, 405, { error: "method_not_allowed" }, { allow: "POST" });
      return;
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(await readBody(req, 4 * 1024 * 1024));
    } catch {
      sendJson(res, 400, {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32700, message: "Parse error" },
      });
      return;
    }

    // Tool-level scopes: checked on the JSON-RPC body before the transport sees it.
    const messages = (Array.isArray(parsed) ? parsed : [parsed]) as JsonRpcCall[];
    for (const message of messages) {
      if (message?.method !== "tools/call") continue;
      const name = message.params?.name;
      const needed = typeof name === "string" ? toolScope.get(name) : undefined;
      if (needed !== undefined && !granted.has(needed)) {
        const params: [string, string][] = [
          ["error", "insufficient_scope"],
          ["scope", needed],
        ];
        if (withResourceMetadata) params.push(["resource_metadata", advertisedPrm]);
        sendJson(
          res,
          403,
          { error: "insufficient_scope", error_description: `tool ${name} needs scope ${needed}` },
          { "www-authenticate": wwwAuthenticate(params) },
        );
        return;
      }
    }

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
    const auth = {
      token,
      clientId,
      scopes: [...granted],
      ...(expiresAt === undefined ? {} : { expiresAt }),
    };
    await transport.handleRequest(Object.assign(req, { auth }), res, parsed);
  };

  const handler: Handler = async (req, res) => {
    const path = pathnameOf(req);
    log.track(req, res, "mcp", () => ({
      kind: prmPaths.has(path) ? "prm" : path === mcpPath ? "mcp" : "other",
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
      await handleMcp(req, res);
      return;
    }
    sendJson(res, 404, { error: "not_found" });
  };
  loopback.setHandler(handler);

  return { origin: loopback.origin, mcpUrl, close: () => loopback.close() };
}
