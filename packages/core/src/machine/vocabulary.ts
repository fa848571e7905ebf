/**
 * The decision trace's vocabulary: every decision the lifecycle or a flow can take, by name, and
 * the reasons that do not depend on the data in one table. A transition's static "why" is its
 * xstate `description` (the inspector shows it); a trace entry says what was decided for this
 * session and why, in these words.
 */

export type Decision =
  // the lifecycle (auth-machine.ts)
  | "restored"
  | "discover"
  | "step-up"
  | "refuse step-up"
  | "loop guard"
  | "retry"
  | "refresh"
  | "refreshed"
  | "retry refresh"
  | "refresh failed"
  | "re-authorize"
  | "register again"
  | "adopted"
  | "already authorized"
  | "cancelled"
  | "flow failed"
  | "failed"
  | "logged out"
  | "revoked"
  | "recovered"
  // a flow (flows/*.ts)
  | "grant"
  | "metadata reused"
  | "resource metadata"
  | "2025-03-26 fallback"
  | "scopes"
  | "client"
  | "authorize"
  | "retry without scope"
  | "interaction required"
  | "device flow"
  | "browser step"
  | "token"
  | "user code"
  | "identity assertion"
  // a quirk profile's adjustment of a request (quirks/)
  | "quirk";

/** Reasons that hold whatever the session's data: one sentence each, used by the machines. */
export const because = {
  olderToken:
    "the challenge answered an older token; retrying with the current one (rejected-token attribution)",
  stepUpLooped:
    "403 insufficient_scope again after the allowed number of authorizations for this scope set",
  reauthorizationLooped: "401 again after the allowed number of authorizations",
  refreshOn401: "401 on the current token and a refresh token is held",
  refreshExpired: "the access token expired before a request could use it",
  refreshProactive: "the access token expires soon: proactive refresh",
  reauthorizeExpired: "the access token expired and no refresh token is held",
  refreshGrantDead: "the refresh token was rejected (invalid_grant): tokens dropped",
  clientForgotten:
    "the token endpoint no longer knows the dynamically registered client (invalid_client)",
  adopted:
    "the store holds a newer token (refreshed elsewhere); using it instead of refreshing again",
  storedTokenAdopted:
    "the store holds a token obtained elsewhere (another session or process) for this resource and authorization server, with the scopes this request needs; using it instead of asking the user",
  alreadyAuthorized: "the current token holds every scope asked for",
  authorizeAhead: "the application asked to authorize ahead of time",
  authorizeMore: "the application asked for scopes the current token lacks",
  authorizeAgain: "the application asked to authorize again after a failure",
  loggedOut: "the application asked to forget the session",
  cancelledKeep: "no request waits for this flow; the current token stays in use",
  cancelled: "no request waits for this flow",
  legacyFallback:
    "no protected-resource metadata anywhere: the server's origin is the authorization server (MCP 2025-03-26)",
  metadataCurrent:
    "the known metadata is within its time to live and names this resource: no discovery",
  metadataReused:
    "step-up with the known metadata and client: straight to the authorization request",
  withoutScopeAuthorize:
    "the scopes taken from scopes_supported were refused with invalid_scope; asking once more without a scope parameter",
  withoutScopeToken: "the token endpoint refused the scopes taken from scopes_supported",
  deviceFlow:
    "the user agent has no browser here (headless) and the authorization server offers the device authorization grant (RFC 8628): a user code instead of the browser step",
  browserWithoutDisplay:
    "the user agent has no browser here (headless), but the authorization server offers no device authorization grant: the authorization URL is printed and the callback pasted",
  interactionRequired:
    'a token needs the user\'s consent and this session may not prompt (interaction: "never"); nothing registered, no browser opened',
} as const;
