/**
 * Step 5 and 6: the authorization-code grant and the refresh grant (OAuth 2.1 §4.1.3, §4.3).
 * Both send `resource` (RFC 8707 §2), authenticate the client (OAuth 2.1 §2.4), decode the
 * answer strictly (§3.2.3), map OAuth errors to TokenRejected{code} (§3.2.4), and write the new
 * token set to the CredentialStore before returning — so a rotated refresh token replaces the
 * old one before any other caller can read it (OAuth 2.1 §4.3.2).
 *
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#resource-parameter-implementation
 */
import { Clock, Effect, Option, Redacted, type Schema } from "effect";
import type * as oauth from "oauth4webapi";
import type { ClientSigningKey } from "../client-settings.js";
import {
  ClientSecretExpired,
  DpopBindingMismatch,
  DpopRequiredByResource,
  DpopUnsupported,
  InvalidClientConfiguration,
  scrubText,
  TokenEndpointFailed,
  TokenRejected,
} from "../errors.js";
import {
  type DpopUse,
  defaultDpopAlgorithm,
  isDpopTokenType,
  tokenTypeVerdict,
  USE_DPOP_NONCE,
} from "../protocol/dpop.js";
import { parseScope } from "../protocol/scopes.js";
import { findChallenge, parseWwwAuthenticate } from "../protocol/www-authenticate.js";
import { adjustTokenRequest, preferredAuthMethod, unqualifyGranted } from "../quirks/apply.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import type { ClientRegistration, TokenKey, TokenSet } from "../schema/credentials.js";
import {
  type AuthorizationServerMetadata,
  decodeDocument,
  OAuthErrorResponse,
  TokenResponse,
  tokenLifetimeSeconds,
  wireLimits,
} from "../schema/wire.js";
import { CredentialStore } from "../services/credential-store.js";
import { DPoP } from "../services/dpop.js";
import { OAuthHttp, type OAuthResponse, readJsonObject } from "../services/http.js";
import type { AuthorizationGrant } from "./authorize.js";
import { clientAuthentication } from "./client-auth.js";
import { clientSecretExpired } from "./register.js";

/**
 * What a token request needs of the server's metadata: its token endpoint, and what else it
 * says (auth methods) when known — an identity provider configured by its token endpoint alone
 * has no more.
 */
export type TokenEndpointMetadata = Pick<AuthorizationServerMetadata, "issuer" | "token_endpoint"> &
  Partial<Omit<AuthorizationServerMetadata, "issuer" | "token_endpoint">>;

export interface TokenEndpointContext {
  readonly issuer: string;
  readonly metadata: TokenEndpointMetadata;
  readonly client: ClientRegistration;
  readonly signingKey?: ClientSigningKey | undefined;
  /**
   * The server's quirk profile (quirks/): resource and scope of the code exchange and refresh, the
   * client authentication when the client names none, a form-encoded token response read.
   */
  readonly quirks?: ResolvedQuirks | undefined;
  /**
   * The resource the token is for, when it accepts DPoP-bound access tokens only (RFC 9728 §2
   * `dpop_bound_access_tokens_required`): every token request carries a proof.
   */
  readonly resourceRequiringDpop?: string | undefined;
  /**
   * The request refreshes a DPoP-bound token set: it carries a proof whatever the metadata says
   * now (RFC 9449 §5: a public client's refresh token is bound to the key) — unless the policy is
   * "off". Set by `refresh` itself.
   */
  readonly refreshesBoundToken?: boolean | undefined;
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
    const adjusted = adjustTokenRequest(input.quirks, {
      grantType: "authorization_code",
      resource: grant.resource,
    });
    const params = new URLSearchParams({
      grant_type: "authorization_code",
      code: Redacted.value(grant.code),
      code_verifier: Redacted.value(grant.codeVerifier),
      // Our choice: redirect_uri because the authorization request carried it; OAuth 2.0
      // servers require it then (RFC 6749 §4.1.3, OAuth 2.1 §10.2).
      redirect_uri: grant.redirectUri,
    });
    if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
    const key = { resource: grant.resource, issuer: input.issuer, clientId: input.client.clientId };
    const answer = yield* tokenRequest(input, "authorization_code", params, key);
    const { dpop } = answer;
    const response = asRequested(input.quirks, grant.resource, answer.response);
    return yield* saveGrantedTokens(response, {
      key,
      requestedScopes: grant.requestedScopes,
      grantType: "authorization_code",
      dpop,
    });
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
    });
    const adjusted = adjustTokenRequest(input.quirks, {
      grantType: "refresh_token",
      resource: tokens.key.resource,
      scopes: input.scopes,
      granted: tokens.scopes,
    });
    if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
    if (adjusted.scope !== undefined) params.set("scope", adjusted.scope);
    // RFC 9449 §5: the proof is signed with the token set's own key — the one a public client's
    // refresh token is bound to. A DPoP-bound token set is refreshed with a proof even where the
    // metadata no longer asks for one (the resource dropped its requirement, the server stopped
    // listing algorithms): without it, a bound refresh token is refused and the user asked again.
    const answer = yield* tokenRequest(
      { ...input, refreshesBoundToken: isDpopTokenType(tokens.tokenType) },
      "refresh_token",
      params,
      tokens.key,
    );
    const { dpop } = answer;
    const response = asRequested(input.quirks, tokens.key.resource, answer.response);
    const next = yield* toTokenSet(response, {
      key: tokens.key,
      fallbackScopes: input.scopes ?? tokens.scopes,
      previousRefreshToken: tokens.refreshToken,
      previousVersion: tokens.version,
      grantType: "refresh_token",
      dpop,
    });
    const store = yield* CredentialStore;
    yield* store.saveTokens(next);
    return next;
  });

/**
 * A client-authenticated form POST to one of the authorization server's endpoints (OAuth 2.1
 * §3.2, §2.4): the token endpoint by default, or another endpoint that authenticates
 * clients the same way (RFC 8628 §3.1's device authorization endpoint). An expired client secret
 * is never sent; the client assertion of private_key_jwt is signed here. The answer is returned
 * unread: `processTokenEndpointResponse` reads it.
 */
export const clientAuthenticatedPost = (
  context: TokenEndpointContext,
  params: URLSearchParams,
  url: string = context.metadata.token_endpoint,
  options: {
    /** A DPoP proof for this request (RFC 9449 §5), sent as the `DPoP` header. */
    readonly dpopProof?: string | undefined;
  } = {},
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
    const auth = yield* clientAuthentication(
      context.client,
      context.metadata,
      context.signingKey,
      preferredAuthMethod(context.quirks)?.method,
    );
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
    if (options.dpopProof !== undefined) headers.set("dpop", options.dpopProof);
    return yield* http.send({
      method: "POST",
      url,
      headers: Object.fromEntries(headers.entries()),
      body: { _tag: "form", params },
    });
  });

/**
 * How token requests to this authorization server use DPoP (RFC 9449 §5.1): not at all when no
 * DPoP service is provided or its decision is off; otherwise the service, the algorithm of a key
 * made now and whether a Bearer answer is acceptable. A "required" policy with no common algorithm
 * is DpopUnsupported, and a resource that takes DPoP-bound tokens only (RFC 9728 §2) without a
 * proof to send is DpopRequiredByResource, before anything is sent. Sends nothing: the
 * authorization code flow asks it before the user is sent to the authorization server.
 */
export const dpopPlan = (
  context: Pick<
    TokenEndpointContext,
    "issuer" | "metadata" | "resourceRequiringDpop" | "refreshesBoundToken"
  >,
) =>
  Effect.gen(function* () {
    const service = yield* Effect.serviceOption(DPoP);
    const resource = context.resourceRequiringDpop;
    if (Option.isNone(service))
      return resource === undefined ? undefined : yield* new DpopRequiredByResource({ resource });
    const decision = service.value.decide(
      context.metadata.dpop_signing_alg_values_supported,
      resource !== undefined,
    );
    switch (decision._tag) {
      case "Off": {
        // A DPoP service that ignores the resource's requirement still sends no proof-less token
        // request for it.
        if (resource !== undefined) return yield* new DpopRequiredByResource({ resource });
        if (decision.reason === "policy" || context.refreshesBoundToken !== true) return undefined;
        // The token set's stored key signs, with its own algorithm; a Bearer answer is the
        // server's decision (RFC 9449 §5), as under "auto".
        const use: DpopUse = "offered";
        return { service: service.value, alg: defaultDpopAlgorithm, use };
      }
      case "RequiredByResource":
        return yield* new DpopRequiredByResource({ resource: resource ?? "(the resource)" });
      case "Unsupported":
        return yield* new DpopUnsupported({
          issuer: context.issuer,
          advertised: [...decision.advertised],
        });
      case "On": {
        // A Bearer answer is refused where the policy or the resource requires binding.
        const use: DpopUse = decision.required || resource !== undefined ? "required" : "offered";
        return { service: service.value, alg: decision.alg, use };
      }
    }
  });

/**
 * RFC 9449 §8: the authorization server demands a nonce — an OAuth error `use_dpop_nonce` in the
 * body (a 400, RFC 9449 §12.2), or in a `DPoP` challenge for servers that answer 401 with one.
 * Reads the body without consuming anything: the response is processed as usual when it is not
 * retried.
 */
export const asksForDpopNonce = (response: OAuthResponse) => {
  if (response.status < 400 || response.status >= 500) return Effect.succeed(false);
  const challenge = findChallenge(
    parseWwwAuthenticate(response.headers["www-authenticate"]),
    "DPoP",
  );
  if (challenge?.params.error === USE_DPOP_NONCE) return Effect.succeed(true);
  return readJsonObject(response).pipe(
    Effect.map((json) => json.error === USE_DPOP_NONCE),
    Effect.orElseSucceed(() => false),
  );
};

/** A token endpoint's answer, unread, and how the request used DPoP. */
export interface TokenEndpointAnswer {
  readonly response: OAuthResponse;
  readonly dpop: DpopUse;
}

/**
 * A token request (OAuth 2.1 §3.2) that carries a DPoP proof when DPoP is in use for this
 * authorization server (RFC 9449 §5), signed with the key of the token set `bindTo` (made and
 * stored on first use), with the server's last nonce for the token endpoint's origin. Every
 * answer's `DPoP-Nonce` is remembered (RFC 9449 §8.2). On `use_dpop_nonce` with a nonce other
 * than the one just sent, the request is sent exactly once more, with a fresh proof (new `jti`)
 * carrying it and a fresh client authentication; whatever that answers is the answer — a second
 * `use_dpop_nonce` is TokenRejected{code: "use_dpop_nonce"}, never another round. Returns the
 * answer unread and how DPoP was used (what `toTokenSet` accepts as `token_type`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export const tokenEndpointPost = (
  context: TokenEndpointContext,
  params: URLSearchParams,
  bindTo: TokenKey,
) =>
  Effect.gen(function* () {
    const plan = yield* dpopPlan(context);
    if (plan === undefined) {
      const response = yield* clientAuthenticatedPost(context, new URLSearchParams(params));
      return { response, dpop: "none" } satisfies TokenEndpointAnswer;
    }
    const url = context.metadata.token_endpoint;
    const attempt = Effect.gen(function* () {
      const proof = yield* plan.service.proof({
        key: bindTo,
        server: "authorization-server",
        method: "POST",
        url,
        alg: plan.alg,
      });
      // A copy per attempt: client authentication writes into the body (a fresh assertion each time).
      const response = yield* clientAuthenticatedPost(context, new URLSearchParams(params), url, {
        dpopProof: proof.jwt,
      });
      const received = yield* plan.service.rememberNonce(
        "authorization-server",
        url,
        response.headers["dpop-nonce"],
      );
      return { response, sent: proof.nonce, received: Option.getOrUndefined(received) };
    });
    const first = yield* attempt;
    const retry =
      first.received !== undefined &&
      first.received !== first.sent &&
      (yield* asksForDpopNonce(first.response));
    const { response } = retry ? yield* attempt : first;
    return { response, dpop: plan.use } satisfies TokenEndpointAnswer;
  });

/**
 * Reads a token endpoint's answer (OAuth 2.1 §3.2.3, §3.2.4): a 200 decoded with
 * `schema` (the token response unless a grant defines its own, like RFC 8693 §2.2.1), a 4xx OAuth
 * error as TokenRejected{code}, anything else as TokenEndpointFailed. No I/O: testable from a
 * plain response.
 */
export const processTokenEndpointResponse = <A, I>(
  response: OAuthResponse,
  grantType: string,
  schema: Schema.Schema<A, I>,
  document: string,
  options: {
    /** Read a form-encoded 200 answer too (a quirk profile's `formEncodedTokenResponse`). */
    readonly acceptForm?: boolean | undefined;
  } = {},
) =>
  Effect.gen(function* () {
    const url = response.url;
    if (response.status === 200) {
      const form = options.acceptForm ? readFormObject(response) : undefined;
      // An OAuth error in a 200 form answer (GitHub's way) is still an OAuth error.
      if (form !== undefined && typeof form.error === "string" && form.access_token === undefined) {
        return yield* new TokenRejected({
          code: form.error,
          status: 200,
          errorDescription:
            typeof form.error_description === "string" ? form.error_description : undefined,
          grantType,
        });
      }
      const json = form ?? (yield* readJsonObject(response));
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
export const processTokenResponse = (
  response: OAuthResponse,
  grantType: string,
  options: { readonly acceptForm?: boolean | undefined } = {},
) => processTokenEndpointResponse(response, grantType, TokenResponse, "token response", options);

/**
 * A form-encoded body (application/x-www-form-urlencoded, as GitHub answers without
 * `Accept: application/json`) as the object a JSON token response would be, or undefined when the
 * answer is not one. A numeric `expires_in` (or other `numeric` member) becomes a number, as JSON
 * would carry it.
 *
 * @see https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
 */
export const readFormObject = (
  response: OAuthResponse,
  /** Members a JSON answer carries as numbers (RFC 8628 §3.2 adds `interval`). */
  numeric: readonly string[] = ["expires_in"],
): Record<string, unknown> | undefined => {
  const mediaType = (response.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/x-www-form-urlencoded") return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(response.body);
  } catch {
    return undefined;
  }
  const object: Record<string, unknown> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in object) return undefined; // a repeated member: not one token response
    object[name] = numeric.includes(name) && /^\d{1,12}$/.test(value) ? Number(value) : value;
  }
  return object;
};

/**
 * A token response's granted scope as the lifecycle asked for it: a profile that qualifies scopes
 * (`{api}/x`) gets `x` back, so the loop guard and step-up compare like with like.
 */
export const asRequested = (
  quirks: ResolvedQuirks | undefined,
  resource: string,
  response: TokenResponse,
): TokenResponse =>
  response.scope === undefined || quirks?.adjustments.qualifyScopes === undefined
    ? response
    : {
        ...response,
        scope: unqualifyGranted(quirks, resource, parseScope(response.scope)).join(" "),
      };

/** Whether this server's profile has a form-encoded 200 answer read too (GitHub's way). */
export const acceptsForm = (quirks: ResolvedQuirks | undefined): boolean =>
  quirks?.adjustments.formEncodedTokenResponse !== undefined;

/**
 * One token request for the token set `bindTo`: client authentication, the DPoP proof when in
 * use, the POST (and its one nonce retry), the answer read as a token response.
 */
export const tokenRequest = (
  context: TokenEndpointContext,
  grantType: string,
  params: URLSearchParams,
  bindTo: TokenKey,
) =>
  tokenEndpointPost(context, params, bindTo).pipe(
    Effect.flatMap(({ response, dpop }) =>
      Effect.map(
        processTokenResponse(response, grantType, { acceptForm: acceptsForm(context.quirks) }),
        (token) => ({ response: token, dpop }),
      ),
    ),
  );

/**
 * A newly granted token set (not a refresh): validated per OAuth 2.1 §3.2.3, versioned above
 * whatever the store holds for its key, and saved before it is returned — what every grant that
 * obtains a new grant does (authorization code, client credentials, JWT bearer, device code).
 */
export const saveGrantedTokens = (
  response: TokenResponse,
  options: {
    readonly key: TokenSet["key"];
    readonly requestedScopes: readonly string[];
    /** For errors: the grant that answered. Default "token". */
    readonly grantType?: string | undefined;
    /** How the request used DPoP (`tokenEndpointPost`). Default "none". */
    readonly dpop?: DpopUse | undefined;
  },
) =>
  Effect.gen(function* () {
    const store = yield* CredentialStore;
    const previous = yield* store.loadTokens(options.key);
    const tokens = yield* toTokenSet(response, {
      key: options.key,
      fallbackScopes: options.requestedScopes,
      previousRefreshToken: undefined,
      previousVersion: Option.match(previous, { onNone: () => 0, onSome: (p) => p.version }),
      grantType: options.grantType,
      dpop: options.dpop,
    });
    yield* store.saveTokens(tokens);
    return tokens;
  });

/** OAuth 2.1 §3.2.3: a token response as the TokenSet the store holds (not saved here). */
export const toTokenSet = (
  response: TokenResponse,
  options: {
    readonly key: TokenSet["key"];
    readonly fallbackScopes: readonly string[];
    readonly previousRefreshToken: Redacted.Redacted<string> | undefined;
    /** The version of the token this one replaces for its key (0: none stored). */
    readonly previousVersion: number;
    /** For errors: the grant that answered. Default "token". */
    readonly grantType?: string | undefined;
    /** How the request used DPoP (`tokenEndpointPost`). Default "none": only Bearer is accepted. */
    readonly dpop?: DpopUse | undefined;
  },
) =>
  Effect.gen(function* () {
    // OAuth 2.1 §3.2.3, RFC 9449 §5: token_type is case-insensitive; `DPoP` only after a proof,
    // `Bearer` unless binding is required (tokenTypeVerdict).
    const grantType = options.grantType ?? "token";
    const verdict = tokenTypeVerdict(response.token_type, options.dpop ?? "none");
    if (verdict._tag === "Refused") {
      return yield* verdict.reason === "unknown"
        ? new TokenEndpointFailed({
            status: 200,
            grantType,
            reason: `token_type "${scrubText(response.token_type, 40)}" is not supported`,
          })
        : new DpopBindingMismatch({
            grantType,
            received: verdict.reason === "dpop without proof" ? "DPoP" : "Bearer",
          });
    }
    const now = yield* Clock.currentTimeMillis;
    const lifetime = tokenLifetimeSeconds(response.expires_in);
    const granted = response.scope === undefined ? undefined : parseScope(response.scope);
    if (granted !== undefined && granted.length > wireLimits.scopes) {
      return yield* new TokenEndpointFailed({
        status: 200,
        grantType,
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
      // What the session presents it with: `Authorization: DPoP` and a proof, or Bearer.
      tokenType: verdict.tokenType,
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
