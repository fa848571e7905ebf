/**
 * The authorization server: oidc-provider 9 on a node:http server bound to 127.0.0.1:0, mounted
 * under the issuer path, with open dynamic registration, PKCE S256 for every client, resource
 * indicators (RFC 8707) minting JWT access tokens for the MCP server, RFC 9207 `iss`, refresh
 * tokens with rotation, and interaction routes a headless user drives over plain HTTP — with
 * `browserPages`, also oidc-provider's own HTML login and consent pages for a real browser.
 */
import { generateKeyPair, randomBytes } from "node:crypto";
import { IncomingMessage, type ServerResponse } from "node:http";
import { promisify } from "node:util";
import { jwtVerify } from "jose";
import Provider, {
  type Configuration,
  errors,
  type KoaContextWithOIDC,
  type ResourceServer,
} from "oidc-provider";
import {
  type Handler,
  type LoopbackServer,
  listenLoopback,
  pathnameOf,
  type RequestLog,
  readBody,
  sendJson,
} from "./http.js";
import { memoryAdapterFactory } from "./memory-adapter.js";
import { judgeTokenRequest } from "./token-quirks.js";
import type { AuthServerOptions, JwtBearerOptions, RequestKind } from "./types.js";

/** The account every headless login signs in as. */
export const HEADLESS_ACCOUNT_ID = "headless-user";

/** OIDC scopes oidc-provider handles itself (its `scopes` configuration). */
const OIDC_SCOPES = ["openid", "offline_access"] as const;

/**
 * A client-metadata property the registered `scope` is moved into (see `extraClientMetadata`),
 * so that oidc-provider neither restricts nor validates it; the response renames it back.
 */
const REGISTERED_SCOPE = "authchart_registered_scope";
/** An authorization parameter nobody sends; its validator runs on every authorization request. */
const REJECT_PROBE = "authchart_reject_probe";

/** Endpoint paths, relative to the issuer. */
export const ROUTES = {
  authorization: "/authorize",
  token: "/token",
  registration: "/register",
  jwks: "/jwks",
  revocation: "/revoke",
  interaction: "/interaction",
  deviceAuthorization: "/device/auth",
  codeVerification: "/device",
} as const;

/** RFC 7523 §2.1. */
const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

interface AuthServerSetup {
  readonly options: AuthServerOptions;
  /** The one resource indicator the AS mints tokens for (exactly the MCP URL). */
  readonly resource: string;
  /** Scopes the resource server knows (tool scopes); they can be granted for `resource`. */
  readonly resourceScopes: readonly string[];
  readonly log: RequestLog;
}

export interface AuthServer {
  readonly origin: string;
  readonly issuer: string;
  readonly issuerPath: string;
  readonly provider: Provider;
  /** The public JWKS access tokens are signed with (also served at the jwks endpoint). */
  readonly jwksUri: string;
  isAccessTokenRevoked(jti: string): boolean;
  expireAccessTokens(): void;
  revokeRefreshTokens(): void;
  forgetClients(): void;
  readonly issuedAccessTokens: number;
  close(): Promise<void>;
}

let signingKey: Promise<Record<string, unknown>> | undefined;

/** One RSA key per process is plenty for tests (generating one costs ~100 ms). */
function rsaSigningJwk(): Promise<Record<string, unknown>> {
  signingKey ??= promisify(generateKeyPair)("rsa", { modulusLength: 2048 }).then(
    ({ privateKey }) => ({
      ...privateKey.export({ format: "jwk" }),
      kid: `testkit-${randomBytes(6).toString("hex")}`,
      use: "sig",
      alg: "RS256",
    }),
  );
  return signingKey;
}

function normalizeIssuerPath(path: string | undefined): string {
  if (!path || path === "/") return "";
  const withSlash = path.startsWith("/") ? path : `/${path}`;
  return withSlash.endsWith("/") ? withSlash.slice(0, -1) : withSlash;
}

function splitScope(scope: unknown): string[] {
  return typeof scope === "string" ? scope.split(" ").filter(Boolean) : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export async function startAuthServer(
  setup: AuthServerSetup,
  bound?: LoopbackServer,
): Promise<AuthServer> {
  const { options, resource, log } = setup;
  const loopback = bound ?? (await listenLoopback());
  const issuerPath = normalizeIssuerPath(options.issuerPath);
  const issuer = `${loopback.origin}${issuerPath}`;
  const accessTokenTtl = options.accessTokenTtlSeconds ?? 3600;
  const rotation = options.refreshTokenRotation ?? true;
  const issueRefreshTokens = options.issueRefreshTokens ?? true;
  const rejectScopes = new Set(options.rejectScopes ?? []);
  const resourceScopes = [...new Set(setup.resourceScopes)].filter(
    (s) => !(OIDC_SCOPES as readonly string[]).includes(s),
  );
  const advertisedScopes = options.scopesSupported ?? [...setup.resourceScopes, "offline_access"];
  /** Everything a resource token can carry: the tool scopes plus whatever else the AS advertises. */
  const grantableResourceScopes = new Set([
    ...resourceScopes,
    ...advertisedScopes.filter((s) => !(OIDC_SCOPES as readonly string[]).includes(s)),
  ]);

  const defaultScopes = [...(options.defaultScopes ?? resourceScopes)];
  /** PKCE challenges of authorization requests that asked for access_type=offline (Google). */
  const offlineChallenges = new Set<string>();
  const browserPages = options.browserPages ?? false;
  const adapter = memoryAdapterFactory();
  const jwk = await rsaSigningJwk();
  const deviceFlow =
    options.deviceFlow === undefined || options.deviceFlow === false
      ? undefined
      : options.deviceFlow === true
        ? {}
        : options.deviceFlow;
  const dpop =
    options.dpop === undefined || options.dpop === false
      ? undefined
      : options.dpop === true
        ? {}
        : options.dpop;
  /** What the MCP server is to oidc-provider: JWT access tokens for exactly its URL. */
  const resourceServerInfo = (): ResourceServer => ({
    scope: [...grantableResourceScopes].join(" "),
    audience: resource,
    accessTokenTTL: accessTokenTtl,
    accessTokenFormat: "jwt",
    jwt: { sign: { alg: "RS256" } },
  });

  const configuration: Configuration = {
    adapter,
    clients: [],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    scopes: [...OIDC_SCOPES],
    claims: { openid: ["sub"] },
    responseTypes: ["code"],
    routes: {
      authorization: ROUTES.authorization,
      token: ROUTES.token,
      registration: ROUTES.registration,
      jwks: ROUTES.jwks,
      revocation: ROUTES.revocation,
      device_authorization: ROUTES.deviceAuthorization,
      code_verification: ROUTES.codeVerification,
    },
    async findAccount(_ctx, sub) {
      return { accountId: sub, claims: async () => ({ sub }) };
    },
    features: {
      // oidc-provider's own HTML pages (a login form, then a consent form) at
      // {issuer}/interaction/:uid, for a real browser; the JSON routes stay for the headless user.
      devInteractions: { enabled: browserPages },
      // Open dynamic registration: no initial access token.
      registration: { enabled: true },
      revocation: { enabled: true },
      clientCredentials: { enabled: options.clientCredentials ?? false },
      deviceFlow: {
        enabled: deviceFlow !== undefined,
        // The device pages answer as JSON, for the headless user (headless-user.ts).
        async userCodeInputSource(ctx, _form, _out, err) {
          ctx.type = "json";
          ctx.body = {
            page: "user_code",
            xsrf: ctx.oidc.session?.state?.secret,
            ...(err ? { error: err.name } : {}),
          };
        },
        async userCodeConfirmSource(ctx, _form, client, _deviceInfo, userCode) {
          ctx.type = "json";
          ctx.body = {
            page: "confirm",
            xsrf: ctx.oidc.session?.state?.secret,
            clientId: client.clientId,
            userCode,
          };
        },
        async successSource(ctx) {
          ctx.type = "json";
          ctx.body = { page: "success" };
        },
      },
      // RFC 9449: off unless asked for (oidc-provider enables it by default), so that the metadata
      // advertises DPoP only to the tests that want it.
      dPoP: {
        enabled: dpop !== undefined,
        allowReplay: false,
        // Server nonces (RFC 9449 §8) only when required: derived from a per-server secret.
        ...(dpop?.requireNonce === true
          ? { nonceSecret: randomBytes(32), requireNonce: () => true }
          : {}),
      },
      resourceIndicators: {
        enabled: true,
        // No default: a client that sends no `resource` gets no token for the MCP server — but an
        // Entra-like server names the API by the scopes and refuses `resource` itself.
        defaultResource: async () => (options.entraScopes ? resource : undefined),
        useGrantedResource: async () => options.entraScopes === true,
        async getResourceServerInfo(_ctx, indicator) {
          // Exactly the MCP URL; anything else (other path, trailing slash, …) is invalid_target.
          if (indicator !== resource) {
            throw new errors.InvalidTarget(`unknown resource indicator ${indicator}`);
          }
          return resourceServerInfo();
        },
      },
    },
    ...(dpop?.algorithms === undefined
      ? {}
      : {
          enabledJWA: {
            dPoPSigningAlgValues: [...dpop.algorithms] as NonNullable<
              Configuration["enabledJWA"]
            >["dPoPSigningAlgValues"],
          },
        }),
    // PKCE for every client, confidential ones included (oidc-provider only knows S256).
    pkce: { required: () => true },
    // oidc-provider's default issues refresh tokens only when offline_access was requested and
    // granted; here every client that registered the refresh_token grant gets one.
    async issueRefreshToken(ctx, client, code) {
      if (options.offlineAccessType && ctx.oidc.params?.grant_type === "authorization_code") {
        const challenge = (code as { codeChallenge?: unknown } | undefined)?.codeChallenge;
        if (typeof challenge !== "string" || !offlineChallenges.has(challenge)) return false;
      }
      return issueRefreshTokens && client.grantTypeAllowed("refresh_token");
    },
    rotateRefreshToken: rotation,
    // Tokens do not die with the headless user's login session.
    expiresWithSession: async () => false,
    // With devInteractions, oidc-provider points at its own pages, at the same path under the
    // issuer (it warns when a url is configured as well).
    ...(browserPages
      ? {}
      : {
          interactions: {
            url: async (_ctx: KoaContextWithOIDC, interaction: { uid: string }) =>
              `${issuerPath}${ROUTES.interaction}/${interaction.uid}`,
          },
        }),
    async renderError(ctx, out) {
      ctx.type = "json";
      ctx.body = out;
    },
    clientBasedCORS: () => false,
    extraParams: {
      // Runs for every authorization request (after client, redirect_uri, PKCE and resource
      // checks), so its error is delivered to the redirect URI with state and iss.
      ...(options.requireAudience ? { audience: null } : {}),
      [REJECT_PROBE]: async (ctx: KoaContextWithOIDC, _value: unknown, client: unknown) => {
        const params = ctx.oidc.params;
        if (params === undefined) return;
        if (options.requireAudience && params.audience !== resource) {
          throw new errors.InvalidRequest(
            "no audience: the token would be an opaque one for the server's own API",
          );
        }
        if (options.scopeDelimiter === ",") {
          const scope = typeof params.scope === "string" ? params.scope : "";
          if (scope.includes(" "))
            throw new errors.InvalidScope("scopes are separated by commas", scope);
          params.scope = scope.split(",").filter(Boolean).join(" ") || undefined;
        }
        // Google: a refresh token only for an authorization request with access_type=offline.
        if (options.offlineAccessType && ctx.URL.searchParams.get("access_type") === "offline") {
          const challenge = params.code_challenge;
          if (typeof challenge === "string") offlineChallenges.add(challenge);
        }
        if (options.entraScopes) {
          // The client's own parameter (defaultResource fills params.resource in afterwards): in
          // the query, or in the body of a device authorization request (RFC 8628 §3.1).
          const body: unknown = ctx.oidc.body;
          if (
            ctx.URL.searchParams.has("resource") ||
            (isRecord(body) && body.resource !== undefined)
          )
            throw new errors.InvalidRequest(
              "AADSTS901002: The 'resource' request parameter is not supported.",
            );
          const named: string[] = [];
          for (const scope of splitScope(params.scope)) {
            if ((OIDC_SCOPES as readonly string[]).includes(scope)) named.push(scope);
            else if (scope === `${resource}/.default`) named.push(...resourceScopes);
            else if (scope.startsWith(`${resource}/`)) named.push(scope.slice(resource.length + 1));
            else throw new errors.InvalidScope("a scope must name its API", scope);
          }
          params.scope = named.join(" ") || undefined;
        }
        const requested = splitScope(params.scope);
        for (const scope of requested) {
          if (rejectScopes.has(scope)) {
            throw new errors.InvalidScope("requested scope is not allowed", scope);
          }
        }
        // No scope at all: the client's registered scope, else the default scopes (oidc-provider
        // itself would grant nothing and answer access_denied).
        if (requested.length === 0) {
          const registered = splitScope(isRecord(client) ? client[REGISTERED_SCOPE] : undefined);
          const fallback = registered.length > 0 ? registered : defaultScopes;
          if (fallback.length > 0) params.scope = fallback.join(" ");
        }
      },
    },
    extraClientMetadata: {
      properties: [REGISTERED_SCOPE],
      validator(ctx, key, _value, metadata) {
        if (key !== REGISTERED_SCOPE) return;
        const scope = metadata.scope;
        if (scope !== undefined) {
          if (typeof scope !== "string") {
            throw new errors.InvalidClientMetadata("scope must be a string");
          }
          metadata[REGISTERED_SCOPE] = scope;
          delete metadata.scope;
        }
        if (
          options.requireScopeOnRegistration &&
          ctx?.oidc?.route === "registration" &&
          splitScope(metadata[REGISTERED_SCOPE]).length === 0
        ) {
          throw new errors.InvalidClientMetadata("scope is required when registering a client");
        }
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? accessTokenTtl,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: deviceFlow?.expiresInSeconds ?? 600,
      IdToken: 3600,
      RefreshToken: 14 * 24 * 60 * 60,
      Interaction: 3600,
      Session: 14 * 24 * 60 * 60,
      Grant: 14 * 24 * 60 * 60,
    },
  };

  const provider = new Provider(issuer, configuration);
  // Koa would print every error thrown by a handler; tests provoke plenty on purpose.
  provider.silent = true;
  if (options.jwtBearer !== undefined) {
    registerJwtBearerGrant(provider, options.jwtBearer, {
      resource,
      resourceServerInfo,
      grantableResourceScopes,
      defaultScopes,
    });
  }
  provider.on("server_error", (_ctx: unknown, error: unknown) => {
    console.error("[authchart/testkit] oidc-provider server_error", error);
  });

  const issuedJtis = new Map<string, string | undefined>();
  const revokedJtis = new Set<string>();
  const revokedGrants = new Set<string>();
  provider.on("access_token.issued", (token) => {
    issuedJtis.set(token.jti, token.grantId);
  });
  // Tokens of the client credentials grant are another model: expireAccessTokens() covers them.
  provider.on("client_credentials.issued", (token: { jti: string }) => {
    issuedJtis.set(token.jti, undefined);
  });
  provider.on("grant.revoked", (_ctx: unknown, grantId: string) => {
    revokedGrants.add(grantId);
  });

  const grantTypes = new WeakMap<IncomingMessage, string>();
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    const body: unknown = ctx.body;
    if (route === "discovery" && isRecord(body)) {
      body.scopes_supported = [...advertisedScopes];
      if (options.advertiseRegistration === false) delete body.registration_endpoint;
      if (options.omitCodeChallengeMethods) delete body.code_challenge_methods_supported;
      if (dpop?.advertise === false) delete body.dpop_signing_alg_values_supported;
    }
    if ((route === "registration" || route === "client") && isRecord(body)) {
      const registered = body[REGISTERED_SCOPE];
      delete body[REGISTERED_SCOPE];
      if (typeof registered === "string") body.scope = registered;
    }
    if (route === "device_authorization" && isRecord(body) && deviceFlow?.interval !== undefined) {
      body.interval = deviceFlow.interval;
    }
    if (route === "token") {
      const grantType = ctx.oidc?.params?.grant_type;
      if (typeof grantType === "string") grantTypes.set(ctx.req, grantType);
      const encoding = options.tokenResponseEncoding ?? "json";
      const acceptsJson = (ctx.get("accept") ?? "").includes("application/json");
      if (
        ctx.status === 200 &&
        isRecord(body) &&
        (encoding === "form" || (encoding === "form-unless-json-accepted" && !acceptsJson))
      ) {
        // GitHub's answer without Accept: application/json.
        ctx.type = "application/x-www-form-urlencoded";
        ctx.body = new URLSearchParams(
          Object.entries(body).map(([name, value]) => [name, String(value)]),
        ).toString();
      }
    }
  });

  const providerCallback = provider.callback();
  const wellKnownOidc = `${issuerPath}/.well-known/openid-configuration`;
  const metadataPaths = new Set<string>([wellKnownOidc]);
  if ((options.metadata ?? "oauth-and-oidc") === "oauth-and-oidc") {
    metadataPaths.add(`/.well-known/oauth-authorization-server${issuerPath}`);
    metadataPaths.add(`/.well-known/openid-configuration${issuerPath}`);
  }
  const interactionPrefix = `${issuerPath}${ROUTES.interaction}/`;

  const classify = (path: string): RequestKind => {
    if (metadataPaths.has(path)) return "as-metadata";
    if (path.startsWith(interactionPrefix)) return "interaction";
    switch (path.slice(issuerPath.length)) {
      case ROUTES.authorization:
        return "authorization";
      case ROUTES.token:
        return "token";
      case ROUTES.registration:
        return "registration";
      case ROUTES.jwks:
        return "jwks";
      case ROUTES.deviceAuthorization:
        return "device-authorization";
    }
    // The device pages (code entry, confirmation, resume) are the user's side, like interactions.
    if (path.startsWith(`${issuerPath}${ROUTES.codeVerification}`)) return "interaction";
    // The resume step (/authorize/:uid) is part of the interaction, not a new authorization.
    if (path.startsWith(`${issuerPath}${ROUTES.authorization}/`)) return "interaction";
    return "other";
  };

  const interactions = interactionHandler(provider, {
    prefix: interactionPrefix,
    grantableResourceScopes,
  });

  let tokenQueue: Promise<unknown> = Promise.resolve();
  /** Token requests are judged by the knobs' server first (token-quirks.ts). */
  const tokenQuirks = options.entraScopes === true || options.requireAudience === true;
  const handler: Handler = async (req, res) => {
    const path = pathnameOf(req);
    log.track(req, res, "as", () => {
      const kind = classify(path);
      return { kind, grantType: kind === "token" ? grantTypes.get(req) : undefined };
    });
    const kind = classify(path);
    if (
      options.requireUserAgent !== undefined &&
      (kind === "as-metadata" || kind === "registration" || kind === "token") &&
      !(req.headers["user-agent"] ?? "").includes(options.requireUserAgent)
    ) {
      // A firewall's block page: HTML, not OAuth.
      res.writeHead(403, { "content-type": "text/html" });
      res.end("<html><body>Request blocked</body></html>");
      return;
    }
    if (
      options.tokenEndpointAuthMethods !== undefined &&
      kind === "token" &&
      (req.headers.authorization ?? "").toLowerCase().startsWith("basic ") &&
      !options.tokenEndpointAuthMethods.includes("client_secret_basic")
    ) {
      sendJson(res, 401, {
        error: "invalid_client",
        error_description: "client authentication in the body only",
      });
      return;
    }
    if (
      options.registrationRequiresToken &&
      kind === "registration" &&
      req.headers.authorization === undefined
    ) {
      sendJson(res, 401, {
        error: "invalid_token",
        error_description: "an administrator's API token is required",
      });
      return;
    }

    if (metadataPaths.has(path)) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendJson(res, 405, { error: "invalid_request", error_description: "method not allowed" });
        return;
      }
      // Every served metadata URL is answered by oidc-provider's own discovery document.
      mount(req, "/.well-known/openid-configuration", issuerPath);
      await providerCallback(req, res);
      return;
    }
    if (path.includes("/.well-known/")) {
      sendJson(res, 404, { error: "not_found" });
      return;
    }
    if (
      path.startsWith(interactionPrefix) &&
      (!browserPages || isHeadlessRequest(req, path, interactionPrefix))
    ) {
      await interactions(req, res, path);
      return;
    }
    if (issuerPath === "" || path === issuerPath || path.startsWith(`${issuerPath}/`)) {
      const url = req.url ?? "/";
      let forwarded = req;
      if (kind === "token" && req.method === "POST" && tokenQuirks) {
        // The server's own rules for token requests come first (token-quirks.ts); what passes
        // goes on to oidc-provider, rewritten into what it understands.
        const params = new URLSearchParams(await readBody(req, 64 * 1024));
        const grantType = params.get("grant_type");
        if (grantType !== null) grantTypes.set(req, grantType);
        const verdict = judgeTokenRequest(params, {
          entraScopes: options.entraScopes === true,
          requireAudience: options.requireAudience === true,
          resource,
          resourceScopes,
          oidcScopes: OIDC_SCOPES,
        });
        if (verdict._tag === "refuse") {
          sendJson(res, verdict.status, verdict.body);
          return;
        }
        forwarded = withBody(req, verdict.params.toString());
      }
      mount(forwarded, url.slice(issuerPath.length) || "/", issuerPath);
      if (kind === "token") {
        // One token request at a time, like a database row lock: of two concurrent uses of one
        // refresh token, the second sees it consumed (invalid_grant, grant revoked).
        const turn = tokenQueue.then(() => providerCallback(forwarded, res));
        tokenQueue = turn.catch(() => undefined);
        await turn;
        return;
      }
      await providerCallback(forwarded, res);
      return;
    }
    sendJson(res, 404, { error: "not_found" });
  };
  loopback.setHandler(handler);

  return {
    origin: loopback.origin,
    issuer,
    issuerPath,
    provider,
    jwksUri: `${issuer}${ROUTES.jwks}`,
    isAccessTokenRevoked(jti) {
      if (revokedJtis.has(jti)) return true;
      const grantId = issuedJtis.get(jti);
      return grantId !== undefined && revokedGrants.has(grantId);
    },
    expireAccessTokens() {
      for (const jti of issuedJtis.keys()) revokedJtis.add(jti);
    },
    revokeRefreshTokens() {
      adapter.dropModel("RefreshToken");
    },
    forgetClients() {
      adapter.dropModel("Client");
    },
    get issuedAccessTokens() {
      return issuedJtis.size;
    },
    close: () => loopback.close(),
  };
}

interface JwtBearerSetup {
  readonly resource: string;
  readonly resourceServerInfo: () => ResourceServer;
  readonly grantableResourceScopes: ReadonlySet<string>;
  readonly defaultScopes: readonly string[];
}

/**
 * A minimal RFC 7523 §2.1 / §3 JWT bearer grant: the assertion must verify with the configured
 * key, name this AS (its issuer or token endpoint) as `aud`, carry a `sub` and not be expired; an
 * ID-JAG's `client_id` claim must be the authenticated client (identity assertion grant draft
 * §5.1). The access token is a JWT for the MCP server with `sub` = the assertion's subject.
 */
function registerJwtBearerGrant(
  provider: Provider,
  options: JwtBearerOptions,
  setup: JwtBearerSetup,
): void {
  const tokenEndpoint = `${provider.issuer}${ROUTES.token}`;
  provider.registerGrantType(
    JWT_BEARER_GRANT,
    async (ctx: KoaContextWithOIDC) => {
      const params = ctx.oidc.params ?? {};
      const client = ctx.oidc.client;
      const assertion = params.assertion;
      if (client === undefined) throw new errors.InvalidClient("client authentication failed");
      if (typeof assertion !== "string" || assertion === "") {
        throw new errors.InvalidRequest("missing required parameter 'assertion'");
      }
      let claims: Record<string, unknown>;
      try {
        const verified = await jwtVerify(assertion, options.key, {
          audience: [provider.issuer, tokenEndpoint],
          clockTolerance: 5,
          ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
          ...(options.typ === undefined ? {} : { typ: options.typ }),
        });
        claims = verified.payload;
      } catch {
        throw new errors.InvalidGrant("the assertion is invalid");
      }
      if (typeof claims.sub !== "string" || claims.sub === "") {
        throw new errors.InvalidGrant("the assertion has no subject");
      }
      if (claims.client_id !== undefined && claims.client_id !== client.clientId) {
        throw new errors.InvalidGrant("the assertion was issued to another client");
      }
      const indicator =
        typeof params.resource === "string"
          ? params.resource
          : typeof claims.resource === "string"
            ? claims.resource
            : undefined;
      if (indicator !== setup.resource) {
        throw new errors.InvalidTarget("the resource is missing or unknown");
      }
      const requested = splitScope(params.scope);
      for (const scope of requested) {
        if (!setup.grantableResourceScopes.has(scope)) {
          throw new errors.InvalidScope("requested scope is not allowed", scope);
        }
      }
      const scope = (requested.length > 0 ? requested : setup.defaultScopes).join(" ");
      const grant = new provider.Grant({ accountId: claims.sub, clientId: client.clientId });
      if (scope) grant.addResourceScope(indicator, scope);
      const token = new provider.AccessToken({
        accountId: claims.sub,
        client,
        grantId: await grant.save(),
        gty: "jwt_bearer",
        scope: scope || undefined,
      });
      token.resourceServer = new provider.ResourceServer(indicator, setup.resourceServerInfo());
      const accessToken = await token.save();
      ctx.body = {
        access_token: accessToken,
        token_type: "Bearer",
        expires_in: token.expiration,
        ...(token.scope ? { scope: token.scope } : {}),
      };
    },
    ["assertion", "scope", "resource"],
  );
}

/**
 * The request with another body, already read from the original: a new IncomingMessage on the same
 * socket, with the original's method, URL and headers (Content-Length made the new body's).
 */
function withBody(req: IncomingMessage, body: string): IncomingMessage {
  const copy = new IncomingMessage(req.socket);
  copy.method = req.method;
  copy.url = req.url;
  copy.httpVersion = req.httpVersion;
  copy.httpVersionMajor = req.httpVersionMajor;
  copy.httpVersionMinor = req.httpVersionMinor;
  copy.headers = { ...req.headers, "content-length": String(Buffer.byteLength(body)) };
  // Complete, as the original is: an incomplete message destroys its socket when it is done with.
  copy.complete = true;
  copy.push(body);
  copy.push(null);
  return copy;
}

/** Presents a request to oidc-provider as if it were mounted at `mountPath` (like koa-mount). */
function mount(req: IncomingMessage, url: string, mountPath: string): void {
  const original = `${mountPath}${url}`;
  Object.assign(req, { originalUrl: original, url });
}

/**
 * With `browserPages`, which interaction requests are the headless user's (answered as JSON by
 * `interactionHandler`) rather than a browser's (oidc-provider's HTML pages): the prompt read as
 * JSON, and POSTs to its login/confirm/abort actions. oidc-provider's own pages are a GET of
 * `:uid` (HTML), a POST to `:uid` and a GET of `:uid/abort`.
 */
function isHeadlessRequest(req: IncomingMessage, path: string, prefix: string): boolean {
  const [, action, ...rest] = path.slice(prefix.length).split("/");
  if (rest.length > 0) return false;
  if (action === undefined) {
    return req.method === "GET" && (req.headers.accept ?? "").startsWith("application/json");
  }
  return req.method === "POST" && ["login", "confirm", "abort"].includes(action);
}

interface InteractionSetup {
  readonly prefix: string;
  readonly grantableResourceScopes: ReadonlySet<string>;
}

/**
 * The interaction routes (no HTML): the headless user reads the prompt and answers it.
 * - GET  {prefix}:uid          -> { uid, prompt: { name, reasons, details }, params }
 * - POST {prefix}:uid/login    -> body { accountId? }: signs in, 303 to the resume URL
 * - POST {prefix}:uid/confirm  -> body { decline?: string[] }: grants the requested scopes but
 *                                 those, 303 to the resume URL
 * - POST {prefix}:uid/abort    -> error=access_denied at the client's redirect URI (via resume)
 */
function interactionHandler(provider: Provider, setup: InteractionSetup) {
  const oidcScopes = new Set<string>(OIDC_SCOPES);
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const [uid, action, ...rest] = path.slice(setup.prefix.length).split("/");
    if (!uid || rest.length > 0) {
      sendJson(res, 404, { error: "not_found" });
      return;
    }
    let details: Awaited<ReturnType<Provider["interactionDetails"]>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      sendJson(res, 400, {
        error: "invalid_request",
        error_description: error instanceof Error ? error.message : "interaction not found",
      });
      return;
    }
    if (details.uid !== uid) {
      sendJson(res, 400, { error: "invalid_request", error_description: "interaction mismatch" });
      return;
    }

    if (action === undefined && req.method === "GET") {
      sendJson(res, 200, {
        uid: details.uid,
        prompt: {
          name: details.prompt.name,
          reasons: details.prompt.reasons,
          details: details.prompt.details,
        },
        params: details.params,
      });
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "invalid_request", error_description: "method not allowed" });
      return;
    }
    const body = await readJsonObject(req);

    switch (action) {
      case "login": {
        const accountId =
          typeof body.accountId === "string" && body.accountId
            ? body.accountId
            : HEADLESS_ACCOUNT_ID;
        await provider.interactionFinished(req, res, { login: { accountId } });
        return;
      }
      case "confirm": {
        const accountId = details.session?.accountId;
        const clientId = details.params.client_id;
        if (!accountId || typeof clientId !== "string") {
          sendJson(res, 400, { error: "invalid_request", error_description: "login first" });
          return;
        }
        const decline = new Set(
          Array.isArray(body.decline)
            ? body.decline.filter((s): s is string => typeof s === "string")
            : [],
        );
        const requested = splitScope(details.params.scope);
        const resourceParam = details.params.resource;
        const resources = (Array.isArray(resourceParam) ? resourceParam : [resourceParam]).filter(
          (r): r is string => typeof r === "string",
        );
        // A fresh grant holds exactly what this request asked for minus what the user declined
        // (reusing the earlier grant would keep earlier rejections).
        const grant = new provider.Grant({ accountId, clientId });
        for (const scope of requested) {
          const declined = decline.has(scope);
          if (oidcScopes.has(scope)) {
            if (declined) grant.rejectOIDCScope(scope);
            else grant.addOIDCScope(scope);
          }
          if (setup.grantableResourceScopes.has(scope)) {
            for (const indicator of resources) {
              if (declined) grant.rejectResourceScope(indicator, scope);
              else grant.addResourceScope(indicator, scope);
            }
          }
        }
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } });
        return;
      }
      case "abort": {
        await provider.interactionFinished(
          req,
          res,
          { error: "access_denied", error_description: "End-User denied the authorization" },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      default:
        sendJson(res, 404, { error: "not_found" });
    }
  };
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req, 64 * 1024);
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : {};
  } catch {
    // Also accept a form body.
    return Object.fromEntries(new URLSearchParams(text));
  }
}
