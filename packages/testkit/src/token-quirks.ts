/**
 * The token endpoint of a server with quirks (the `entraScopes` and `requireAudience` knobs):
 * what such a server says to a token request, judged on its form parameters before oidc-provider
 * sees them — a refusal in the server's words, or the parameters rewritten into what
 * oidc-provider understands (bare scopes for the MCP server). Pure.
 */

/** The knobs this module reads, and what the server knows. */
export interface TokenQuirkSetup {
  readonly entraScopes: boolean;
  readonly requireAudience: boolean;
  /** The one resource indicator (the MCP URL): Entra's App ID URI, Auth0's API identifier. */
  readonly resource: string;
  /** The tool scopes (`{resource}/.default` stands for all of them). */
  readonly resourceScopes: readonly string[];
  /** Scopes that are nobody's API (OpenID Connect's). */
  readonly oidcScopes: readonly string[];
}

export type TokenQuirkVerdict =
  | { readonly _tag: "pass"; readonly params: URLSearchParams }
  | {
      readonly _tag: "refuse";
      readonly status: number;
      readonly body: { readonly error: string; readonly error_description: string };
    };

const refuse = (status: number, error: string, description: string): TokenQuirkVerdict => ({
  _tag: "refuse",
  status,
  body: { error, error_description: description },
});

const scopesOf = (params: URLSearchParams) =>
  (params.get("scope") ?? "").split(" ").filter((s) => s !== "");

/**
 * Entra ID v2's token endpoint: no `resource` on any grant (AADSTS901002); a client credentials
 * request asks for `{App ID URI}/.default` and nothing else; a refresh names its API in the scope
 * — without one Entra answers with a token for another API (Microsoft Graph), which the MCP server
 * would refuse; here the refresh is refused outright, so that a test sees it.
 *
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 * @see https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc
 */
const entra = (params: URLSearchParams, setup: TokenQuirkSetup): TokenQuirkVerdict => {
  if (params.has("resource"))
    return refuse(
      400,
      "invalid_request",
      "AADSTS901002: The 'resource' request parameter is not supported.",
    );
  const grantType = params.get("grant_type");
  const scopes = scopesOf(params);
  const all = `${setup.resource}/.default`;
  if (grantType === "client_credentials") {
    if (scopes.length !== 1 || scopes[0] !== all)
      return refuse(
        400,
        "invalid_scope",
        `AADSTS1002012: The provided value for scope ${scopes.join(" ") || "(none)"} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    params.set("scope", setup.resourceScopes.join(" "));
    return { _tag: "pass", params };
  }
  if (grantType === "refresh_token") {
    if (scopes.length === 0)
      return refuse(
        400,
        "invalid_request",
        "a refresh without scope would get a token for another API (Microsoft Graph): name the API's scopes",
      );
    const bare: string[] = [];
    for (const scope of scopes) {
      // `.default`: every permission already consented, which is what the refresh token holds.
      if (scope === all) continue;
      if (setup.oidcScopes.includes(scope)) bare.push(scope);
      else if (scope.startsWith(`${setup.resource}/`))
        bare.push(scope.slice(setup.resource.length + 1));
      else return refuse(400, "invalid_scope", `a scope must name its API: ${scope}`);
    }
    if (bare.length === 0) params.delete("scope");
    else params.set("scope", bare.join(" "));
  }
  return { _tag: "pass", params };
};

/**
 * Auth0's token endpoint: a client credentials request names its API as `audience` (Auth0 ignores
 * `resource`); without it, and with no default audience for the tenant, the request is refused.
 *
 * @see https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow
 */
const auth0 = (params: URLSearchParams, setup: TokenQuirkSetup): TokenQuirkVerdict => {
  if (params.get("grant_type") !== "client_credentials") return { _tag: "pass", params };
  if (params.get("audience") !== setup.resource)
    return refuse(
      403,
      "access_denied",
      "No audience parameter was provided, and no default audience has been configured",
    );
  params.delete("audience");
  return { _tag: "pass", params };
};

/** A token request's form parameters as the knobs' server answers them. */
export const judgeTokenRequest = (
  params: URLSearchParams,
  setup: TokenQuirkSetup,
): TokenQuirkVerdict => {
  let verdict: TokenQuirkVerdict = { _tag: "pass", params: new URLSearchParams(params) };
  if (setup.entraScopes) verdict = entra(verdict.params, setup);
  if (verdict._tag === "pass" && setup.requireAudience) verdict = auth0(verdict.params, setup);
  return verdict;
};
