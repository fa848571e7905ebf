/**
 * Failures that belong to the lifecycle rather than to one step: the loop guard, a declined
 * scope, the browser step's timeout, a cancelled flow. Together with the steps' errors they form
 * AuthchartError, the one type a session's caller ever sees.
 */
import { Schema } from "effect";
import type * as Errors from "../errors.js";
import { describeDefect } from "../errors.js";
import type { LockFailed, LockTimeout } from "../services/session-lock.js";

/** The authorization server granted less than the request needs (the user declined a scope). */
export class ScopeDeclined extends Schema.TaggedError<ScopeDeclined>()("ScopeDeclined", {
  missing: Schema.Array(Schema.String),
}) {
  override get message() {
    return `the authorization server did not grant ${this.missing.join(" ")}; not asking again in this session`;
  }
}

/**
 * The loop guard tripped (MCP "Step-Up Authorization Flow": retry limits): `attempts` of what
 * `counted` names — authorizations for one scope set, authorizations in the session, or rounds of
 * one application request — were spent and the server still refuses.
 */
export class AuthorizationLoop extends Schema.TaggedError<AuthorizationLoop>()(
  "AuthorizationLoop",
  {
    scopes: Schema.Array(Schema.String),
    attempts: Schema.Number,
    counted: Schema.Literal(
      "authorizations for this scope set",
      "authorizations in this session",
      "rounds of one request",
    ),
  },
) {
  override get message() {
    return `gave up after ${this.attempts} ${this.counted} (scope "${this.scopes.join(" ") || "(none)"}"): the server keeps refusing`;
  }
}

/** The resource answered 403 without asking for a scope: authorization cannot change that. */
export class AccessForbidden extends Schema.TaggedError<AccessForbidden>()("AccessForbidden", {
  status: Schema.Number,
  error: Schema.optional(Schema.String),
}) {
  override get message() {
    return `the resource refused the request (${this.status}${this.error ? ` ${this.error}` : ""}) without asking for more scope`;
  }
}

/** The user did not finish the browser step in time. */
export class AuthorizationTimeout extends Schema.TaggedError<AuthorizationTimeout>()(
  "AuthorizationTimeout",
  {
    timeoutMillis: Schema.Number,
  },
) {
  override get message() {
    return `the authorization was not completed within ${Math.round(this.timeoutMillis / 1000)} s`;
  }
}

/** The flow was stopped: the session closed, or every request waiting for it was aborted. */
export class FlowCancelled extends Schema.TaggedError<FlowCancelled>()("FlowCancelled", {
  reason: Schema.String,
}) {
  override get message() {
    return `authorization cancelled: ${this.reason}`;
  }
}

/**
 * The session may not interact with the user (`interaction: "never"`: a background session) and
 * a token needs the user's consent: the flow ended before any registration or browser step, with
 * what consent is needed — the resource, the authorization server and the scopes it would ask
 * for — so that a host can say "consent needed for X" instead of opening browser tabs.
 */
export class InteractionRequired extends Schema.TaggedError<InteractionRequired>()(
  "InteractionRequired",
  {
    resource: Schema.String,
    issuer: Schema.optional(Schema.String),
    scopes: Schema.Array(Schema.String),
  },
) {
  override get message() {
    const scopes = this.scopes.length > 0 ? this.scopes.join(" ") : "its default scopes";
    return `consent needed at ${this.issuer ?? "the authorization server"} for ${scopes} on ${this.resource}; run an interactive login (authchart login ${this.resource})`;
  }
}

/** A step failed in a way that is not one of its typed errors (a bug or an interrupted fiber). */
export class StepDefect extends Schema.TaggedError<StepDefect>()("StepDefect", {
  step: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `the ${this.step} step failed unexpectedly: ${this.reason}`;
  }
}

export type AuthchartError =
  | Errors.InsecureUrl
  | Errors.RequestTimeout
  | Errors.TransportError
  | Errors.UnexpectedRedirect
  | Errors.ResponseTooLarge
  | Errors.UnexpectedContentType
  | Errors.MalformedJson
  | Errors.UnexpectedStatus
  | Errors.InvalidDocument
  | Errors.InvalidResourceUri
  | Errors.ResourceMetadataNotFound
  | Errors.ResourceMismatch
  | Errors.NoAuthorizationServer
  | Errors.AuthServerMetadataNotFound
  | Errors.IssuerMismatch
  | Errors.PkceUnsupported
  | Errors.RegistrationRejected
  | Errors.RegistrationUnavailable
  | Errors.InvalidClientConfiguration
  | Errors.ClientSecretExpired
  | Errors.InvalidChallenge
  | Errors.StateMismatch
  | Errors.IssMismatch
  | Errors.AuthorizationDenied
  | Errors.InvalidCallback
  | Errors.UserAgentFailed
  | Errors.TokenRejected
  | Errors.TokenEndpointFailed
  | Errors.StoreFailed
  | Errors.AssertionRejected
  | Errors.AssertionUnavailable
  | Errors.DeviceAuthorizationUnsupported
  | Errors.DeviceAuthorizationRejected
  | Errors.DeviceCodeExpired
  | Errors.DeviceAuthorizationDenied
  | Errors.DpopUnsupported
  | Errors.DpopRequiredByResource
  | Errors.DpopBindingMismatch
  | Errors.DpopKeyFailed
  | LockTimeout
  | LockFailed
  | Errors.RevocationFailed
  | ScopeDeclined
  | AccessForbidden
  | AuthorizationLoop
  | AuthorizationTimeout
  | InteractionRequired
  | FlowCancelled
  | StepDefect;

/** Anything an actor threw, as an AuthchartError (a non-tagged throw becomes a StepDefect). */
export const asAuthchartError = (step: string, error: unknown): AuthchartError => {
  if (
    typeof error === "object" &&
    error !== null &&
    "_tag" in error &&
    typeof error._tag === "string"
  ) {
    return error as AuthchartError;
  }
  return new StepDefect({ step, reason: describeDefect(error) });
};

/** Failures worth retrying after a pause: the network or the server, not the protocol. */
export const isTransient = (error: AuthchartError): boolean => {
  switch (error._tag) {
    case "TransportError":
    case "RequestTimeout":
    // Another process held the token's lock longer than the wait: it is refreshing; try again.
    case "LockTimeout":
      return true;
    case "TokenEndpointFailed":
    case "UnexpectedStatus":
      return error.status >= 500 || error.status === 429;
    default:
      return false;
  }
};

/**
 * After a failure, may the next request start over (still bounded by the loop guard)? Yes for
 * the network and for a browser step that was not finished (timeout, cancelled, the user agent
 * failing); no for a decision — a denial, a mismatch, a broken server — which stays until the
 * application calls authorize() again.
 */
export const isRetryable = (error: AuthchartError): boolean =>
  isTransient(error) ||
  error._tag === "AuthorizationTimeout" ||
  error._tag === "FlowCancelled" ||
  error._tag === "UserAgentFailed";
