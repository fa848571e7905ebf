/**
 * Token revocation (RFC 7009) when the application logs out: the refresh token first — a server
 * that ties the grant's access tokens to it revokes them too (§2.1) — then the access token, each
 * with the client's authentication (§2.1), at the `revocation_endpoint` the metadata advertises
 * (RFC 8414 §2). A server answers 200 for a token it does not know (§2.2), so anything else is a
 * typed RevocationFailed; the caller deletes its copy either way.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7009#section-2
 */
import { Effect, Redacted } from "effect";
import { RevocationFailed } from "../errors.js";
import type { TokenSet } from "../schema/credentials.js";
import type { OAuthResponse } from "../services/http.js";
import { clientAuthenticatedPost, type TokenEndpointContext } from "./tokens.js";

export interface RevokeInput extends TokenEndpointContext {
  readonly tokens: TokenSet;
}

/** What was revoked: how many tokens the server confirmed (0 when it offers no endpoint). */
export interface Revocation {
  readonly revoked: number;
}

/** RFC 7009 §2.1: the request's parameters for one token. Pure. */
export const revocationParams = (
  token: Redacted.Redacted<string>,
  hint: "refresh_token" | "access_token",
): URLSearchParams => new URLSearchParams({ token: Redacted.value(token), token_type_hint: hint });

/** RFC 7009 §2.2: 200 is success (also for a token the server did not know). Pure. */
const errorCodeOf = (response: OAuthResponse): string | undefined => {
  try {
    const body = JSON.parse(new TextDecoder().decode(response.body)) as { error?: unknown };
    return typeof body.error === "string" ? body.error.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
};

export const revokeTokens = Effect.fn("revokeTokens")(function* (input: RevokeInput) {
  const endpoint = input.metadata.revocation_endpoint;
  if (endpoint === undefined) return { revoked: 0 } satisfies Revocation;
  const order: ReadonlyArray<
    readonly [Redacted.Redacted<string>, "refresh_token" | "access_token"]
  > = [
    ...(input.tokens.refreshToken === undefined
      ? []
      : [[input.tokens.refreshToken, "refresh_token"] as const]),
    [input.tokens.accessToken, "access_token"] as const,
  ];
  let revoked = 0;
  for (const [token, hint] of order) {
    const response = yield* clientAuthenticatedPost(input, revocationParams(token, hint), endpoint);
    if (response.status === 200) {
      revoked++;
      continue;
    }
    const error = errorCodeOf(response);
    // RFC 7009 §2.2.1: a token type the server cannot revoke (a self-contained access token)
    // is not a failure of the logout: it expires on its own.
    if (response.status === 400 && error === "unsupported_token_type" && hint === "access_token")
      continue;
    return yield* new RevocationFailed({
      issuer: input.issuer,
      tokenType: hint,
      status: response.status,
      error,
    });
  }
  return { revoked } satisfies Revocation;
});
