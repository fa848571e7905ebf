/**
 * The built-in quirk profiles: the authorization servers MCP clients meet most, each adjustment
 * following a public document or report cited in `sources`. Matched by issuer (match.ts); a
 * server's client settings may choose, override or switch off any of them.
 */
import type { QuirkProfile } from "./profile.js";

/**
 * Microsoft Entra ID, v2.0 endpoints. AADSTS901002 "The 'resource' request parameter is not
 * supported"; scopes name their API (`{App ID URI}/scope`, or `/.default` for all its
 * permissions); `offline_access` alone names no API; a refresh without scope gets a token for
 * another audience.
 */
export const entraIdV2: QuirkProfile = {
  id: "entra-id-v2",
  name: "Microsoft Entra ID (v2.0 endpoints)",
  issuers: ["https://login.microsoftonline.com/{tenant}/v2.0"],
  sources: [
    "https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc",
    "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow",
    "https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow",
    "https://github.com/microsoft/vscode/issues/254009",
    "https://github.com/modelcontextprotocol/modelcontextprotocol/issues/1389",
  ],
  adjustments: {
    omitResource: {
      why: "Entra ID v2 refuses the resource parameter (AADSTS901002); the API is named by the scopes",
    },
    qualifyScopes: {
      whenEmpty: ".default",
      clientCredentials: ".default",
      why: "Entra ID v2 scopes name their API ({App ID URI}/scope); {App ID URI}/.default asks for all of its permissions, and is the only scope a client credentials request may carry",
    },
    offlineAccessOnlyWithOther: {
      why: "Entra ID v2 issues no token for an API when offline_access is the only scope",
    },
    scopeOnRefresh: {
      why: "an Entra ID v2 refresh without scope returns a token for another audience",
    },
  },
};

/**
 * Auth0: `resource` is ignored; without `audience` the token is opaque or a JWE for its own API,
 * and a client credentials request without it is refused (access_denied) unless the tenant has a
 * default audience.
 */
export const auth0: QuirkProfile = {
  id: "auth0",
  name: "Auth0",
  issuers: ["https://{tenant}.auth0.com/", "https://{tenant}.{region}.auth0.com/"],
  sources: [
    "https://auth0.com/docs/secure/tokens/access-tokens/get-access-tokens",
    "https://auth0.com/docs/get-started/authentication-and-authorization-flow/client-credentials-flow",
    "https://github.com/microsoft/vscode/issues/274226",
    "https://github.com/modelcontextprotocol/inspector/issues/566",
  ],
  adjustments: {
    audience: {
      why: "Auth0 ignores resource and issues a token for an API only when the request names it as audience",
    },
  },
};

/** GitHub: no dynamic registration; the token endpoint answers form-encoded unless asked for JSON. */
export const github: QuirkProfile = {
  id: "github",
  name: "GitHub",
  issuers: ["https://github.com/login/oauth"],
  sources: [
    "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps",
    "https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/creating-an-oauth-app",
  ],
  adjustments: {
    formEncodedTokenResponse: {
      why: "GitHub answers the token endpoint as application/x-www-form-urlencoded unless it honours Accept: application/json",
    },
    preRegistration: {
      consoleUrl: "https://github.com/settings/developers",
      why: "GitHub has no dynamic client registration: an OAuth app is registered in its developer settings",
    },
  },
};

/** Google: no dynamic registration; refresh tokens come with `access_type=offline`, not a scope. */
export const google: QuirkProfile = {
  id: "google",
  name: "Google",
  issuers: ["https://accounts.google.com"],
  sources: [
    "https://developers.google.com/identity/protocols/oauth2/web-server#offline",
    "https://developers.google.com/identity/protocols/oauth2/native-app",
  ],
  adjustments: {
    neverSendScopes: {
      scopes: ["offline_access"],
      why: "Google refuses the offline_access scope (invalid_scope); offline access is asked for with access_type=offline",
    },
    authorizationParams: {
      params: { access_type: "offline" },
      why: "Google issues a refresh token only when the authorization request says access_type=offline",
    },
    preRegistration: {
      consoleUrl: "https://console.cloud.google.com/apis/credentials",
      why: "Google has no dynamic client registration: an OAuth client is created in the Google Cloud console",
    },
  },
};

/** Okta: the registration endpoint needs an administrator's API token. */
export const okta: QuirkProfile = {
  id: "okta",
  name: "Okta",
  issuers: [
    "https://{org}.okta.com",
    "https://{org}.okta.com/oauth2/{server}",
    "https://{org}.oktapreview.com",
    "https://{org}.oktapreview.com/oauth2/{server}",
  ],
  sources: [
    "https://developer.okta.com/docs/api/openapi/oauth-clients/",
    "https://developer.okta.com/docs/guides/implement-grant-type/authcodepkce/main/",
  ],
  adjustments: {
    preRegistration: {
      consoleUrl:
        "https://help.okta.com/en-us/content/topics/apps/apps_app_integration_wizard_oidc.htm",
      why: "Okta's client registration endpoint wants an administrator's API token: an app integration is created in the Okta Admin Console",
    },
  },
};

/** Cloudflare's MCP servers: the OpenID Connect scopes generic clients add are unknown there. */
export const cloudflare: QuirkProfile = {
  id: "cloudflare",
  name: "Cloudflare MCP servers",
  issuers: ["https://mcp.cloudflare.com", "https://{server}.mcp.cloudflare.com"],
  sources: ["https://github.com/cloudflare/mcp-server-cloudflare/issues/457"],
  adjustments: {
    neverSendScopes: {
      scopes: ["openid", "email", "profile"],
      why: "Cloudflare's authorization server refuses the scopes openid email profile (invalid_scope, 'Unknown OAuth scope')",
    },
  },
};

/** Slack: comma-separated scopes, a registered redirect URI, an app made in its console. */
export const slack: QuirkProfile = {
  id: "slack",
  name: "Slack",
  issuers: ["https://slack.com"],
  sources: [
    "https://docs.slack.dev/authentication/installing-with-oauth",
    "https://docs.slack.dev/reference/methods/oauth.v2.access",
  ],
  adjustments: {
    scopeDelimiter: {
      delimiter: ",",
      why: "Slack's authorization request takes a comma-separated list of scopes",
    },
    clientAuthentication: {
      method: "client_secret_basic",
      why: "Slack asks for the client id and secret in HTTP Basic authentication rather than the body",
    },
    fixedRedirectUri: {
      why: "Slack compares the redirect URI with the ones registered for the app",
    },
    preRegistration: {
      consoleUrl: "https://api.slack.com/apps",
      why: "Slack has no dynamic client registration: an app is created at api.slack.com/apps",
    },
  },
};

/** HubSpot: the client secret in the form body, a registered redirect URI, an app in its console. */
export const hubspot: QuirkProfile = {
  id: "hubspot",
  name: "HubSpot",
  issuers: ["https://app.hubspot.com", "https://mcp.hubspot.com"],
  sources: [
    "https://developers.hubspot.com/docs/api-reference/auth-oauth-v3/guide",
    "https://developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/create-oauth-token.md",
  ],
  adjustments: {
    clientAuthentication: {
      method: "client_secret_post",
      why: "HubSpot's token endpoint takes client_id and client_secret as form parameters in the body",
    },
    fixedRedirectUri: {
      why: "HubSpot compares the redirect URI with the one in the app's settings",
    },
    preRegistration: {
      consoleUrl: "https://developers.hubspot.com",
      why: "HubSpot has no dynamic client registration: an app is created in a HubSpot developer account",
    },
  },
};

/**
 * An authorization server behind a web application firewall that lets through only the User-Agent
 * it was told about: no issuer of its own, chosen per server in the client settings with the
 * value (`servers: [{ issuer, profile: "waf-user-agent", adjustments: { userAgent: { value, why } } }]`).
 */
export const wafUserAgent: QuirkProfile = {
  id: "waf-user-agent",
  name: "An authorization server behind a User-Agent filter",
  issuers: [],
  sources: ["https://www.rfc-editor.org/rfc/rfc9110#section-10.1.5"],
  adjustments: {
    userAgent: {
      value: "authchart",
      why: "the firewall in front of this authorization server refuses requests without the User-Agent it allows",
    },
  },
};

export const builtInProfiles: readonly QuirkProfile[] = [
  entraIdV2,
  auth0,
  github,
  google,
  okta,
  cloudflare,
  slack,
  hubspot,
  wafUserAgent,
];
