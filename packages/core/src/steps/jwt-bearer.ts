/**
 * The JWT bearer authorization grant (RFC 7523 §2.1): the application hands over a signed JWT —
 * a workload identity token (SEP-1933) or an identity assertion grant from an enterprise IdP
 * (ID-JAG, SEP-990; see token-exchange.ts) — and the authorization server answers with an access
 * token. The client may also authenticate itself (RFC 7523 §3.1: client authentication is
 * independent of the grant); it does so as for every token request (OAuth 2.1 §2.4).
 *
 * A rejection is final (AssertionRejected): the assertion is not sent again and no other grant is
 * tried (the conformance suite's auth/wif-jwt-bearer counts both as failures). The assertion is a
 * secret: it stays Redacted up to the request body.
 */
import { Effect, Redacted } from "effect";
import { AssertionRejected, AssertionUnavailable } from "../errors.js";
import { adjustApiRequest } from "../quirks/apply.js";
import type { ResolvedQuirks } from "../quirks/profile.js";
import type { OAuthResponse } from "../services/http.js";
import {
  acceptsForm,
  asRequested,
  processTokenResponse,
  saveGrantedTokens,
  type TokenEndpointContext,
  tokenEndpointPost,
} from "./tokens.js";

/** RFC 7523 §2.1 `grant_type`. */
export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** The assertion, or an Effect that obtains a fresh one (read a projected token, ask the IdP). */
export type AssertionSource<E = never, R = never> =
  | Redacted.Redacted<string>
  | Effect.Effect<Redacted.Redacted<string>, E, R>;

export interface JwtBearerInput<E = never, R = never> extends TokenEndpointContext {
  readonly assertion: AssertionSource<E, R>;
  /** The MCP server's canonical URI (RFC 8707 §2; MCP "Resource Parameter Implementation"). */
  readonly resource: string;
  /** RFC 7523 §2.1 / RFC 6749 §3.3 `scope`; empty or absent: omitted. */
  readonly scopes?: readonly string[] | undefined;
}

/**
 * RFC 7523 §2.1: the grant's parameters (client authentication is added when sending), as the
 * server's quirk profile adjusts them (resource, scope, audience: quirks/apply.ts). Pure.
 */
export const jwtBearerParams = (input: {
  readonly assertion: Redacted.Redacted<string>;
  readonly resource: string;
  readonly scopes?: readonly string[] | undefined;
  readonly quirks?: ResolvedQuirks | undefined;
}): URLSearchParams => {
  const adjusted = adjustApiRequest(
    input.quirks,
    { resource: input.resource, scopes: input.scopes ?? [] },
    "jwt_bearer",
  );
  const params = new URLSearchParams({
    grant_type: JWT_BEARER_GRANT,
    assertion: Redacted.value(input.assertion),
  });
  if (adjusted.scope !== undefined) params.set("scope", adjusted.scope);
  if (adjusted.resource !== undefined) params.set("resource", adjusted.resource);
  if (adjusted.audience !== undefined) params.set("audience", adjusted.audience);
  return params;
};

/**
 * RFC 7523 §3.1 (errors per RFC 6749 §5.2): the token response, or AssertionRejected — final —
 * for any OAuth error the server answers with. No I/O.
 */
export const processJwtBearerResponse = (
  response: OAuthResponse,
  options: { readonly acceptForm?: boolean | undefined } = {},
) =>
  processTokenResponse(response, JWT_BEARER_GRANT, options).pipe(
    Effect.catchTag("TokenRejected", (rejected) =>
      Effect.fail(
        new AssertionRejected({
          code: rejected.code,
          status: rejected.status,
          errorDescription: rejected.errorDescription,
          grantType: JWT_BEARER_GRANT,
          final: true,
        }),
      ),
    ),
  );

/** The grant with the assertion in hand: one request, the token set saved for its key. */
export const jwtBearerExchange = Effect.fn("jwtBearerGrant")(function* (
  input: JwtBearerInput & { readonly assertion: Redacted.Redacted<string> },
) {
  const key = { resource: input.resource, issuer: input.issuer, clientId: input.client.clientId };
  // A use_dpop_nonce answer is retried once inside (RFC 9449 §8): it judges the proof, not the
  // assertion, so it is not the final rejection below.
  const { response, dpop } = yield* tokenEndpointPost(input, jwtBearerParams(input), key);
  const granted = yield* processJwtBearerResponse(response, {
    acceptForm: acceptsForm(input.quirks),
  });
  return yield* saveGrantedTokens(asRequested(input.quirks, input.resource, granted), {
    key,
    requestedScopes: input.scopes ?? [],
    grantType: JWT_BEARER_GRANT,
    dpop,
  });
});

const isRedacted = (value: unknown): value is Redacted.Redacted<string> =>
  Redacted.isRedacted(value);

/**
 * RFC 7523 §2.1: obtain the assertion (each run asks the source again, so a rotated workload token
 * is picked up), then exchange it. An empty assertion is AssertionUnavailable, never sent.
 */
export const jwtBearerGrant = <E = never, R = never>(input: JwtBearerInput<E, R>) =>
  Effect.flatMap(
    isRedacted(input.assertion) ? Effect.succeed(input.assertion) : input.assertion,
    (assertion) =>
      Effect.zipRight(
        Redacted.value(assertion).length === 0
          ? Effect.fail(new AssertionUnavailable({ reason: "the assertion is empty" }))
          : Effect.void,
        jwtBearerExchange({ ...input, assertion }),
      ),
  );
