/**
 * Step 5 and 6: the authorization-code grant and the refresh grant (OAuth 2.1 §4.1.3, §4.3;
 * SPEC T1-T10). Both send `resource` (A5), authenticate the client per T2, decode the answer
 * strictly (T3), map OAuth errors to TokenRejected{code} (T4), and write the new token set to the
 * CredentialStore before returning — so a rotated refresh token replaces the old one before any
 * other caller can read it (T7).
 */
import { Clock, Effect, Option, Redacted, type Schema } from "effect";
import type * as oauth from "oauth4webapi";
import type { ClientSigningKey } from "../client-settings.js";
import {
  ClientSecretExpired,
  InvalidClientConfiguration,
  TokenEndpointFailed,
  TokenRejected,
} from "../errors.js";
import { formatScope, parseScope } from "../protocol/scopes.js";
import type { ClientRegistration, TokenSet } from "../schema/credentials.js";
import {
  type AuthorizationServerMetadata,
  decodeDocument,
  OAuthErrorResponse,
  TokenResponse,
  tokenLifetimeSeconds,
  wireLimits,
} from "../schema/wire.js";
import { CredentialStore } from "../services/credential-store.js";
import { OAuthHttp, type OAuthResponse, readJsonObject } from "../services/http.js";
import type { AuthorizationGrant } from "./authorize.js";
import { clientAuthentication } from "./client-auth.js";
import { clientSecretExpired } from "./register.js";

export interface TokenEndpointContext {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly client: ClientRegistration;
  readonly signingKey?: ClientSigningKey | undefined;
}

export interface ExchangeCodeInput extends TokenEndpointContext {
  readonly grant: AuthorizationGrant;
}

export interface RefreshInput extends TokenEndpointContext {
  readonly tokens: TokenSet;
  /** A subset of the granted scope to narrow to (OAuth 2.1 §4.3.1). A refresh never widens scope. */
  readonly scopes?: readonly string[] | undefined;
}

export const exchangeCode = (input: ExchangeCodeInput) =>
  Effect.gen(function* () {
    const { grant } = input;
    const params = new URLSearchParams({
      grant_type: "authorization_code",
      code: Redacted.value(grant.code),
      code_verifier: Redacted.value(grant.codeVerifier),
      // SPEC T1 [lib]: redirect_uri because the authorization request carried it.
      redirect_uri: grant.redirectUri,
      resource: grant.resource,
    });
    const response = yield* tokenRequest(input, "authorization_code", params);
    const key = { resource: grant.resource, issuer: input.issuer, clientId: input.client.clientId };
    return yield* saveGrantedTokens(response, { key, requestedScopes: grant.requestedScopes });
  });

export const refresh = (input: RefreshInput) =>
  Effect.gen(function* () {
    const { tokens } = input;
    if (tokens.refreshToken === undefined) {
      return yield* new TokenRejected({
        code: "invalid_grant",
        status: 0,
        errorDescription: "no refresh token is held",
        grantType: "refresh_token",
      });
    }
    const params = new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: Redacted.value(tokens.refreshToken),
      resource: tokens.key.resource,
    });
    const scope = input.scopes === undefined ? undefined : formatScope(input.scopes);
    if (scope !== undefined) params.set("scope", scope);
    const response = yield* tokenRequest(input, "refresh_token", params);
    const next = yield* toTokenSet(response, {
      key: tokens.key,
      fallbackScopes: input.scopes ?? tokens.scopes,
      previousRefreshToken: tokens.refreshToken,
      previousVersion: tokens.version,
    });
    const store = yield* CredentialStore;
    yield* store.saveTokens(next);
    return next;
  });

/**
 * A client-authenticated form POST to one of the authorization server's endpoints (OAuth 2.1
 * §3.2, §2.4; SPEC T2): the token endpoint by default, or another endpoint that authenticates
 * clients the same way (RFC 8628 §3.1's device authorization endpoint). An expired client secret
 * is never sent; the client assertion of private_key_jwt is signed here. The answer is returned
 * unread: `processTokenEndpointResponse` reads it.
 */
export const clientAuthenticatedPost = (
  context: TokenEndpointContext,
  params: URLSearchParams,
  url: string = context.metadata.token_endpoint,
) =>
  Effect.gen(function* () {
    const http = yield* OAuthHttp;
    // RFC 7591 §3.2.1: an expired client secret is never sent; the lifecycle registers again.
    if (clientSecretExpired(context.client, yield* Clock.currentTimeMillis)) {
      return yield* new ClientSecretExpired({
        issuer: context.issuer,
        expiredAt: context.client.clientSecretExpiresAt ?? 0,
      });
    }
    const auth = yield* clientAuthentication(context.client, context.metadata, context.signingKey);
    const headers = new Headers();
    const as = { ...context.metadata, issuer: context.issuer } as oauth.AuthorizationServer;
    // A private_key_jwt assertion is signed here; a key WebCrypto refuses is a configuration error.
    yield* Effect.tryPromise({
      try: async () => auth(as, { client_id: context.client.clientId }, params, headers),
      catch: () =>
        new InvalidClientConfiguration({
          reason:
            "the client could not authenticate with the configured credentials (signing failed)",
        }),
    });
    return yield* http.send({
      method: "POST",
      url,
      headers: Object.fromEntries(headers.entries()),
      body: { _tag: "form", params },
    });
  });

/**
 * Reads a token endpoint's answer (OAuth 2.1 §3.2.3, §3.2.4; SPEC T3, T4): a 200 decoded with
 * `schema` (the token response unless a grant defines its own, like RFC 8693 §2.2.1), a 4xx OAuth
 * error as TokenRejected{code}, anything else as TokenEndpointFailed. No I/O: testable from a
 * plain response.
 */
export const processTokenEndpointResponse = <A, I>(
  response: OAuthResponse,
  grantType: string,
  schema: Schema.Schema<A, I>,
  document: string,
) =>
  Effect.gen(function* () {
    const url = response.url;
    if (response.status === 200) {
      const json = yield* readJsonObject(response);
      return yield* decodeDocument(schema, document, url)(json);
    }
    const error = yield* readJsonObject(response).pipe(
      Effect.flatMap(decodeDocument(OAuthErrorResponse, "token error response", url)),
      Effect.option,
    );
    if (Option.isSome(error) && response.status >= 400 && response.status < 500) {
      return yield* new TokenRejected({
        code: error.value.error,
        status: response.status,
        errorDescription: error.value.error_description,
        grantType,
      });
    }
    return yield* new TokenEndpointFailed({
      status: response.status,
      grantType,
      reason:
        response.status >= 500
          ? "server error"
          : "the answer is not an OAuth token or error response",
    });
  });

/** `processTokenEndpointResponse` for grants that answer with an access token (OAuth 2.1 §3.2.3). */
export const processTokenResponse = (response: OAuthResponse, grantType: string) =>
  processTokenEndpointResponse(response, grantType, TokenResponse, "token response");

/** One token request: client authentication, the POST, the answer read as a token response. */
export const tokenRequest = (
  context: TokenEndpointContext,
  grantType: string,
  params: URLSearchParams,
) =>
  clientAuthenticatedPost(context, params).pipe(
    Effect.flatMap((response) => processTokenResponse(response, grantType)),
  );

/**
 * A newly granted token set (not a refresh): validated per SPEC T3, versioned above whatever the
 * store holds for its key, and saved before it is returned — what every grant that obtains a new
 * grant does (authorization code, client credentials, JWT bearer, device code).
 */
export const saveGrantedTokens = (
  response: TokenResponse,
  options: { readonly key: TokenSet["key"]; readonly requestedScopes: readonly string[] },
) =>
  Effect.gen(function* () {
    const store = yield* CredentialStore;
    const previous = yield* store.loadTokens(options.key);
    const tokens = yield* toTokenSet(response, {
      key: options.key,
      fallbackScopes: options.requestedScopes,
      previousRefreshToken: undefined,
      previousVersion: Option.match(previous, { onNone: () => 0, onSome: (p) => p.version }),
    });
    yield* store.saveTokens(tokens);
    return tokens;
  });

/** SPEC T3: a token response as the TokenSet the store holds (not saved here). */
export const toTokenSet = (
  response: TokenResponse,
  options: {
    readonly key: TokenSet["key"];
    readonly fallbackScopes: readonly string[];
    readonly previousRefreshToken: Redacted.Redacted<string> | undefined;
    /** The version of the token this one replaces for its key (0: none stored). */
    readonly previousVersion: number;
  },
) =>
  Effect.gen(function* () {
    // SPEC T3: token_type is case-insensitive; only Bearer is supported here (DPoP comes later).
    if (response.token_type.toLowerCase() !== "bearer") {
      return yield* new TokenEndpointFailed({
        status: 200,
        grantType: "token",
        reason: `token_type "${response.token_type.slice(0, 40)}" is not supported`,
      });
    }
    const now = yield* Clock.currentTimeMillis;
    const lifetime = tokenLifetimeSeconds(response.expires_in);
    const granted = response.scope === undefined ? undefined : parseScope(response.scope);
    if (granted !== undefined && granted.length > wireLimits.scopes) {
      return yield* new TokenEndpointFailed({
        status: 200,
        grantType: "token",
        reason: `the granted scope lists more than ${wireLimits.scopes} scopes`,
      });
    }
    const refreshToken =
      response.refresh_token === undefined
        ? options.previousRefreshToken
        : Redacted.make(response.refresh_token);
    return {
      key: options.key,
      accessToken: Redacted.make(response.access_token),
      tokenType: "Bearer",
      refreshToken,
      expiresAt: lifetime === undefined ? undefined : now + lifetime * 1000,
      // OAuth 2.1 §3.2.3: a returned scope is the granted set; without one, what was asked for.
      scopes: granted === undefined ? [...options.fallbackScopes] : [...granted],
      obtainedAt: now,
      // Rejected-token attribution compares versions, so they never go back: not after tokens
      // were dropped (invalid_grant, logout) nor across clients or issuers — a millisecond
      // timestamp, and always above the version it replaces.
      version: Math.max(now, options.previousVersion + 1),
    } satisfies TokenSet;
  });
