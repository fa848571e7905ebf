/**
 * Step 4: the authorization request and response (OAuth 2.1 §4.1). Has the UserAgent prepare the
 * redirect endpoint first (RFC 8252 §7.3: a loopback receiver binds its port, an ephemeral one
 * included, before the request names it); builds the request with a fresh PKCE S256 pair, an
 * unguessable state, the resource indicator, the selected scopes and the redirect URI as
 * prepared; hands it to the UserAgent; validates the callback against that same redirect URI — iss first (RFC 9207 §2.4,
 * so that an error from a mixed-up server is never acted on; SEP-2468, "Recommend Issuer (iss)
 * Parameter in MCP Auth Responses"), then state, then an error response — with oauth4webapi's
 * validateAuthResponse.
 */
import { Effect, Redacted } from "effect";
import * as oauth from "oauth4webapi";
import {
  AuthorizationDenied,
  describeDefect,
  InvalidCallback,
  InvalidDocument,
  IssMismatch,
  StateMismatch,
  scrubText,
  UserAgentFailed,
} from "../errors.js";
import { s256CodeChallenge } from "../protocol/digest.js";
import { boundRedirectAllowed } from "../protocol/loopback-redirect.js";
import { adjustAuthorizationRequest } from "../quirks/apply.js";
import type { AppliedAdjustment, ResolvedQuirks } from "../quirks/profile.js";
import type { ClientRegistration } from "../schema/credentials.js";
import type { AuthorizationServerMetadata } from "../schema/wire.js";
import { Randomness } from "../services/randomness.js";
import { UserAgent } from "../services/user-agent.js";

export interface AuthorizeInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly client: ClientRegistration;
  /**
   * The configured redirect URI; one on a loopback IP literal with port 0 gets the port the user
   * agent bound (RFC 8252 §7.3).
   */
  readonly redirectUri: string;
  /** The canonical resource (RFC 8707 §2; MCP "Canonical Server URI"). */
  readonly resource: string;
  /** Empty: no scope parameter at all (MCP "Scope Selection Strategy"). */
  readonly scopes: readonly string[];
  /** The server's quirk profile (quirks/): resource, audience, scope and extra parameters only. */
  readonly quirks?: ResolvedQuirks | undefined;
}

/** The per-flow record that the token request needs. */
export interface AuthorizationGrant {
  readonly issuer: string;
  readonly code: Redacted.Redacted<string>;
  readonly codeVerifier: Redacted.Redacted<string>;
  /** The redirect URI the authorization request carried; the token request repeats it. */
  readonly redirectUri: string;
  readonly resource: string;
  readonly requestedScopes: readonly string[];
  readonly clientId: string;
  /** What the quirk profile changed in the authorization request, for the trace. */
  readonly adjustments?: readonly AppliedAdjustment[] | undefined;
}

export interface AuthorizationRequest {
  readonly url: string;
  readonly state: string;
  readonly codeVerifier: string;
}

/**
 * The authorization URL (OAuth 2.1 §4.1.1): the endpoint's own query is kept, and each parameter
 * set once (a parameter the endpoint URL already has is replaced, never duplicated; §3.1).
 */
export const buildAuthorizationUrl = (
  input: AuthorizeInput & { readonly metadata: { readonly authorization_endpoint: string } },
  pkce: { readonly codeChallenge: string; readonly state: string },
): string => {
  const url = new URL(input.metadata.authorization_endpoint);
  // A quirk profile adjusts resource, audience and scope and adds only unreserved parameters; the
  // PKCE pair, state, client and redirect URI below are set after them and are not theirs.
  const adjusted = adjustAuthorizationRequest(input.quirks, input);
  const params: Record<string, string | undefined> = {
    ...adjusted.extra,
    ...(adjusted.audience === undefined ? {} : { audience: adjusted.audience }),
    resource: adjusted.resource,
    scope: adjusted.scope,
    response_type: "code",
    client_id: input.client.clientId,
    redirect_uri: input.redirectUri,
    code_challenge: pkce.codeChallenge,
    code_challenge_method: "S256",
    state: pkce.state,
  };
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  return url.href;
};

export const prepareAuthorization = (input: AuthorizeInput) =>
  Effect.gen(function* () {
    // RFC 8414 §2: metadata without an authorization endpoint serves no authorization code
    // (discovery for this grant already refuses it; metadata given by hand may lack it).
    const endpoint = input.metadata.authorization_endpoint;
    if (endpoint === undefined) {
      return yield* new InvalidDocument({
        url: input.issuer,
        document: "authorization-server metadata",
        issues: ["authorization_endpoint is missing"],
      });
    }
    const random = yield* Randomness;
    const codeVerifier = yield* random.codeVerifier;
    const state = yield* random.state;
    const challenge = s256CodeChallenge(codeVerifier);
    const codeChallenge =
      typeof challenge === "string" ? challenge : yield* Effect.promise(() => challenge);
    return {
      url: buildAuthorizationUrl(
        { ...input, metadata: { ...input.metadata, authorization_endpoint: endpoint } },
        { codeChallenge, state },
      ),
      state,
      codeVerifier,
    } satisfies AuthorizationRequest;
  });

export const authorize = (input: AuthorizeInput) =>
  Effect.scoped(
    Effect.gen(function* () {
      const userAgent = yield* UserAgent;
      // Bound before the request exists, closed when this scope ends — on every path.
      const prepared = yield* userAgent.prepare(input.redirectUri);
      if (!boundRedirectAllowed(input.redirectUri, prepared.redirectUri)) {
        return yield* new UserAgentFailed({
          reason: `the user agent prepared ${displayRedirect(prepared.redirectUri)} for the redirect URI ${input.redirectUri}; only the port of an ephemeral-port loopback IP literal may differ (RFC 8252 §7.3)`,
        });
      }
      const bound = { ...input, redirectUri: prepared.redirectUri };
      const request = yield* prepareAuthorization(bound);
      const callback = yield* prepared.authorize(request.url);
      const code = yield* validateCallback(bound, request.state, callback);
      const grant: AuthorizationGrant = {
        issuer: input.issuer,
        code: Redacted.make(code),
        codeVerifier: Redacted.make(request.codeVerifier),
        redirectUri: bound.redirectUri,
        resource: input.resource,
        requestedScopes: input.scopes,
        clientId: input.client.clientId,
        adjustments: adjustAuthorizationRequest(input.quirks, input).adjustments,
      };
      return grant;
    }),
  );

/** A redirect URI a user agent named, cut for a message (it is the application's, not a secret). */
const displayRedirect = (uri: string) => (uri.length > 200 ? `${uri.slice(0, 200)}…` : uri);

/**
 * The callback: redirect URI, iss (RFC 9207 §2.4), state (RFC 9700 §4.7), then an error response
 * (OAuth 2.1 §4.1.2.1). Returns the code; every failure is typed and names no secret.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9207#section-2.4
 */
export const validateCallback = (
  input: Pick<AuthorizeInput, "issuer" | "metadata" | "client" | "redirectUri">,
  expectedState: string,
  callback: string,
): Effect.Effect<string, InvalidCallback | IssMismatch | StateMismatch | AuthorizationDenied> =>
  Effect.suspend(() => {
    let url: URL;
    try {
      url = new URL(callback);
    } catch {
      return Effect.fail(new InvalidCallback({ reason: "the callback is not a URL" }));
    }
    const expected = new URL(input.redirectUri);
    if (url.origin !== expected.origin || url.pathname !== expected.pathname) {
      return Effect.fail(
        new InvalidCallback({
          reason: "the callback did not arrive at the registered redirect URI",
        }),
      );
    }
    // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once." A
    // duplicated code, state or iss is refused before anything is redeemed, whichever copy a
    // parser would pick.
    const duplicated = duplicatedParameter(url.searchParams);
    if (duplicated !== undefined) {
      return Effect.fail(
        new InvalidCallback({
          reason: `the response parameter ${duplicated} appears more than once`,
        }),
      );
    }
    const as = { ...input.metadata, issuer: input.issuer } as oauth.AuthorizationServer;
    const client: oauth.Client = { client_id: input.client.clientId };
    try {
      const params = oauth.validateAuthResponse(as, client, url, expectedState);
      const code = params.get("code");
      return code
        ? Effect.succeed(code)
        : Effect.fail(new InvalidCallback({ reason: "the response carries no code" }));
    } catch (error) {
      return Effect.fail(
        classify(
          error,
          url.searchParams,
          input.issuer,
          expectedState,
          input.metadata.authorization_response_iss_parameter_supported === true,
        ),
      );
    }
  });

/** The first parameter name that occurs more than once (a name of at most 40 characters shown). */
export const duplicatedParameter = (params: URLSearchParams): string | undefined => {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) return /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? name : "(unnamed)";
    seen.add(name);
  }
  return undefined;
};

/** A value from the callback (any length the browser allows) cut for an error's fields. */
const clip = (value: string | undefined, max: number) =>
  value !== undefined && value.length > max ? `${value.slice(0, max)}…` : value;

/**
 * oauth4webapi says that a check failed; which one is derived from the parameters themselves (in
 * its order: iss, state, error), so the typed error does not depend on message wording.
 */
const classify = (
  error: unknown,
  params: URLSearchParams,
  issuer: string,
  expectedState: string,
  advertisesIss: boolean,
) => {
  const iss = params.getAll("iss");
  const state = params.getAll("state");
  if (error instanceof oauth.AuthorizationResponseError) {
    return new AuthorizationDenied({
      error: clip(error.error, 128) ?? "",
      errorDescription:
        error.error_description === undefined ? undefined : scrubText(error.error_description, 512),
      errorUri: clip(params.get("error_uri") ?? undefined, 2048),
    });
  }
  if ((iss.length === 0 && advertisesIss) || (iss.length > 0 && iss[0] !== issuer)) {
    return new IssMismatch({ expected: issuer, actual: clip(iss[0], 2048) });
  }
  if (state[0] !== expectedState)
    return new StateMismatch({ received: state.length === 0 ? "missing" : "different" });
  return new InvalidCallback({ reason: describeDefect(error) });
};
