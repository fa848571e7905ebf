/**
 * Enterprise-managed authorization / cross-app access (SEP-990): the identity assertion JWT
 * authorization grant (draft-ietf-oauth-identity-assertion-authz-grant, "ID-JAG") in two requests.
 * 1. At the enterprise IdP's token endpoint, an OAuth 2.0 token exchange (RFC 8693 §2.1): the
 *    user's ID token (or an IdP refresh token) as `subject_token`, asking for
 *    `requested_token_type` id-jag with `audience` = the MCP server's authorization server issuer,
 *    `resource` = the MCP server, and `scope`. The answer must say `issued_token_type` id-jag
 *    (RFC 8693 §2.2.1); its `token_type` is "N_A" (the ID-JAG is not an access token).
 * 2. At the authorization server, the JWT bearer grant (RFC 7523 §2.1, jwt-bearer.ts) with the
 *    ID-JAG as `assertion`. A rejection is final, as for every assertion grant.
 * The client authenticates at each server with the credentials it holds there (OAuth 2.1
 * §2.4). The ID token and the ID-JAG are secrets: Redacted until they go into a request body.
 */
import { Clock, Effect, Redacted } from "effect";
import { scrubText, TokenEndpointFailed } from "../errors.js";
import { parseScope } from "../protocol/scopes.js";
import { adjustApiRequest, unqualifyGranted } from "../quirks/apply.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import { TokenExchangeResponse, tokenLifetimeSeconds, wireLimits } from "../schema/wire.js";
import type { OAuthResponse } from "../services/http.js";
import { jwtBearerExchange } from "./jwt-bearer.js";
import {
  acceptsForm,
  clientAuthenticatedPost,
  processTokenEndpointResponse,
  type TokenEndpointContext,
} from "./tokens.js";

/** RFC 8693 §2.1 `grant_type`. */
export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";

/** RFC 8693 §3 token type identifiers, and the ID-JAG's (identity assertion grant draft §3). */
export const TokenTypes = {
  idToken: "urn:ietf:params:oauth:token-type:id_token",
  refreshToken: "urn:ietf:params:oauth:token-type:refresh_token",
  idJag: "urn:ietf:params:oauth:token-type:id-jag",
} as const;

export interface IdJagRequestInput {
  /** The enterprise IdP: its issuer and metadata, and this client's registration there. */
  readonly idp: TokenEndpointContext;
  /** The user's identity assertion at the IdP (RFC 8693 §2.1 `subject_token`). */
  readonly subjectToken: Redacted.Redacted<string>;
  /** Default "id_token"; an IdP may also exchange its refresh token (SEP-990 refresh variant). */
  readonly subjectTokenType?: "id_token" | "refresh_token" | undefined;
  /** The authorization server the ID-JAG is for: its issuer identifier (RFC 8693 §2.1 `audience`). */
  readonly audience: string;
  /** The MCP server's canonical URI (RFC 8707 §2; MCP "Resource Parameter Implementation"). */
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
}

/** The identity assertion grant the IdP issued, ready to be the JWT bearer `assertion`. */
export interface IdJag {
  readonly assertion: Redacted.Redacted<string>;
  /** Epoch milliseconds, when the IdP said (`expires_in`). */
  readonly expiresAt?: number | undefined;
  /** The scopes the IdP granted, when it said (RFC 8693 §2.2.1 `scope`). */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * RFC 8693 §2.1: the token exchange parameters (client authentication is added when sending), as
 * the identity provider's quirk profile adjusts them: resource and scope only — `audience` is the
 * authorization server the ID-JAG is for, never a profile's (quirks/apply.ts). Pure.
 */
export const idJagRequestParams = (
  input: Omit<IdJagRequestInput, "idp"> & { readonly quirks?: ResolvedQuirks | undefined },
): URLSearchParams => {
  const adjusted = adjustApiRequest(
    input.quirks,
    { resource: input.resource, scopes: input.scopes ?? [] },
    "token_exchange",
  );
  const params = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    requested_token_type: TokenTypes.idJag,
    audience: input.audience,
    subject_token: Redacted.value(input.subjectToken),
    subject_token_type:
      input.subjectTokenType === "refresh_token" ? TokenTypes.refreshToken : TokenTypes.idToken,
  });
  if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
  if (adjusted.scope !== undefined) params.set("scope", adjusted.scope);
  return params;
};

const notAnIdJag = (reason: string) =>
  new TokenEndpointFailed({ status: 200, grantType: TOKEN_EXCHANGE_GRANT, reason });

/**
 * RFC 8693 §2.2.1 and §2.2.2: the IdP's answer as an IdJag. `issued_token_type` must be id-jag
 * (anything else — an access token in particular — is refused, never forwarded to the
 * authorization server); a `token_type` other than "N_A" (case-insensitive, RFC 6749 §5.1) is
 * refused too; a missing one is tolerated. An OAuth error is TokenRejected. No I/O apart from
 * reading the clock for `expires_in`.
 */
export const processIdJagResponse = (
  response: OAuthResponse,
  options: {
    /** Read a form-encoded 200 answer too (a quirk profile's `formEncodedTokenResponse`). */
    readonly acceptForm?: boolean | undefined;
    /** The IdP's profile and the resource: a granted scope it qualified is read back bare. */
    readonly quirks?: ResolvedQuirks | undefined;
    readonly resource?: string | undefined;
  } = {},
) =>
  Effect.gen(function* () {
    const answer = yield* processTokenEndpointResponse(
      response,
      TOKEN_EXCHANGE_GRANT,
      TokenExchangeResponse,
      "token exchange response",
      { acceptForm: options.acceptForm },
    );
    if (answer.issued_token_type !== TokenTypes.idJag) {
      return yield* notAnIdJag(
        `issued_token_type "${scrubText(answer.issued_token_type, 80)}" is not ${TokenTypes.idJag}`,
      );
    }
    if (answer.token_type !== undefined && answer.token_type.toLowerCase() !== "n_a") {
      return yield* notAnIdJag(
        `token_type "${scrubText(answer.token_type, 40)}" is not N_A; an ID-JAG is not an access token`,
      );
    }
    const granted = answer.scope === undefined ? undefined : parseScope(answer.scope);
    if (granted !== undefined && granted.length > wireLimits.scopes) {
      return yield* notAnIdJag(`the granted scope lists more than ${wireLimits.scopes} scopes`);
    }
    const lifetime = tokenLifetimeSeconds(answer.expires_in);
    const now = yield* Clock.currentTimeMillis;
    return {
      assertion: Redacted.make(answer.access_token),
      expiresAt: lifetime === undefined ? undefined : now + lifetime * 1000,
      // The scopes are asked of the authorization server next, as the lifecycle names them.
      scopes:
        granted === undefined || options.resource === undefined
          ? granted
          : unqualifyGranted(options.quirks, options.resource, granted),
    } satisfies IdJag;
  });

/** Step 1 of SEP-990: the token exchange at the IdP's token endpoint. */
export const requestIdJag = Effect.fn("requestIdJag")(function* (input: IdJagRequestInput) {
  // No DPoP proof here: the ID-JAG is not an access token (token_type N_A), nothing is bound to a
  // key; the JWT bearer grant that redeems it carries one when DPoP is in use.
  const response = yield* clientAuthenticatedPost(
    input.idp,
    idJagRequestParams({ ...input, quirks: input.idp.quirks }),
  );
  return yield* processIdJagResponse(response, {
    acceptForm: acceptsForm(input.idp.quirks),
    quirks: input.idp.quirks,
    resource: input.resource,
  });
});

export interface CrossAppAccessInput {
  readonly idp: TokenEndpointContext;
  readonly subjectToken: Redacted.Redacted<string>;
  readonly subjectTokenType?: "id_token" | "refresh_token" | undefined;
  /** The MCP server's authorization server, and this client's registration there. */
  readonly authorizationServer: TokenEndpointContext;
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
}

/**
 * SEP-990 end to end: the ID-JAG from the IdP (audience = the authorization server's issuer),
 * then the JWT bearer grant with it at the authorization server; the token set is saved for
 * (resource, authorization server issuer, client) like every granted token. The scopes asked of
 * the authorization server are the ones the IdP granted when it said, else the ones requested.
 */
export const crossAppAccess = Effect.fn("crossAppAccess")(function* (input: CrossAppAccessInput) {
  const idJag = yield* requestIdJag({
    idp: input.idp,
    subjectToken: input.subjectToken,
    subjectTokenType: input.subjectTokenType,
    audience: input.authorizationServer.issuer,
    resource: input.resource,
    scopes: input.scopes,
  });
  return yield* jwtBearerExchange({
    ...input.authorizationServer,
    assertion: idJag.assertion,
    resource: input.resource,
    scopes: idJag.scopes ?? input.scopes,
  });
});
