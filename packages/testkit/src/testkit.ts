/** startTestkit: the AS and the MCP server wired together, a headless user and one request log. */
import type { JSONWebKeySet } from "jose";
import { ROUTES, startAuthServer } from "./auth-server.js";
import { HeadlessUserAgent } from "./headless-user.js";
import { listenLoopback, RequestLog } from "./http.js";
import { DEFAULT_TOOLS, normalizeMcpPath, startMcpServer, toolScopes } from "./mcp-server.js";
import type { Testkit, TestkitOptions } from "./types.js";

export async function startTestkit(options: TestkitOptions = {}): Promise<Testkit> {
  const log = new RequestLog();
  // Bind both ports first: the AS must know the resource URL, the MCP server the issuer.
  const [asLoopback, mcpLoopback] = await Promise.all([listenLoopback(), listenLoopback()]);
  try {
    const mcpOptions = options.mcp ?? {};
    const mcpUrl = `${mcpLoopback.origin}${normalizeMcpPath(mcpOptions.path)}`;
    const authServer = await startAuthServer(
      {
        options: options.authServer ?? {},
        resource: mcpUrl,
        resourceScopes: toolScopes(mcpOptions.tools ?? DEFAULT_TOOLS),
        log,
      },
      asLoopback,
    );
    // The resource server learns the signing keys from the AS's JWKS endpoint, once.
    const jwksResponse = await fetch(authServer.jwksUri, {
      headers: { accept: "application/json" },
    });
    if (!jwksResponse.ok) throw new Error(`testkit AS JWKS answered ${jwksResponse.status}`);
    const jwks = (await jwksResponse.json()) as JSONWebKeySet;
    const mcp = await startMcpServer(
      {
        options: mcpOptions,
        issuer: authServer.issuer,
        jwks,
        isRevoked: (jti) => authServer.isAccessTokenRevoked(jti),
        log,
      },
      mcpLoopback,
    );
    const user = new HeadlessUserAgent({
      authServerOrigin: authServer.origin,
      interactionPrefix: `${authServer.issuerPath}${ROUTES.interaction}/`,
      policy: options.user ?? { grant: "all" },
    });
    log.clear();

    let closing: Promise<void> | undefined;
    return {
      mcpUrl: mcp.mcpUrl,
      mcpOrigin: mcp.origin,
      issuer: authServer.issuer,
      authServerOrigin: authServer.origin,
      requests: log.entries,
      count: (kind, filter) => log.count(kind, filter),
      clearLog: () => log.clear(),
      user,
      expireAccessTokens: () => authServer.expireAccessTokens(),
      revokeRefreshTokens: () => authServer.revokeRefreshTokens(),
      forgetClients: () => authServer.forgetClients(),
      get issuedAccessTokens() {
        return authServer.issuedAccessTokens;
      },
      rotateDpopNonce: () => mcp.rotateDpopNonce(),
      async registerClient(metadata) {
        const response = await fetch(`${authServer.issuer}${ROUTES.registration}`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(metadata),
        });
        const body = (await response.json()) as Record<string, unknown>;
        if (response.status !== 201) {
          throw new Error(`registration failed (HTTP ${response.status}): ${JSON.stringify(body)}`);
        }
        return body;
      },
      close() {
        closing ??= Promise.all([mcp.close(), authServer.close()]).then(() => undefined);
        return closing;
      },
    };
  } catch (error) {
    await Promise.all([asLoopback.close(), mcpLoopback.close()]);
    throw error;
  }
}
