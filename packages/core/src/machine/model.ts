/**
 * The statechart's data: context, events, emitted events, input. Only metadata lives here —
 * scopes, expiries, versions, URLs, ids. Tokens, secrets, codes and verifiers stay in the
 * CredentialStore or travel on one event between two steps of a child flow (the authorization
 * code and its verifier, `Redacted`, from `authorizing` to `exchangingCode`); no machine context
 * holds one.
 *
 * The parent reads like MCP's lifecycle (auth-machine.ts); each grant is a child flow under
 * flows/. The shapes below are Schemas: the steps, the machines and the persistence share one
 * definition of a resource, an authorization server, a client and a token.
 *
 *   restoring ─▶ authorized (a stored, usable token) | unauthorized
 *   unauthorized ──challenge.received / session.authorize──▶ obtaining (the grant's child flow)
 *   obtaining ──flow succeeded──▶ authorized
 *   obtaining ──flow failed──▶ fallingBack ─▶ authorized (a token is held) | failed
 *   authorized ──after refreshDue──▶ refreshing            (proactive, before expiry)
 *   authorized ──401 on the current token──▶ refreshing | obtaining
 *   authorized ──401 on an older token──▶ (answer: retry with the current token)
 *   authorized ──403 insufficient_scope──▶ obtaining with granted ∪ requested ∪ challenged
 *              (never refreshing: a refresh cannot widen scope)
 *   refreshing ──invalid_grant / invalid_client──▶ obtaining; ──transient──▶ refreshBackoff
 *   failed ──a retryable failure, after its cool-down──▶ obtaining
 */
import { Schema } from "effect";
import type { ScopeSource } from "../protocol/scopes.js";
import { RegistrationKind } from "../schema/credentials.js";
import { AuthorizationServerMetadata } from "../schema/wire.js";
import type { AuthchartError } from "./errors.js";
import type { AuthorizationCounts } from "./loop-guard.js";
import type { Decision } from "./vocabulary.js";

export type Scopes = readonly string[];
const Strings = Schema.Array(Schema.String);

/** What a request saw: the challenge it got and the token version it was sent with. */
export interface ChallengeInfo {
  readonly status: 401 | 403;
  readonly error?: string | undefined;
  readonly scope?: Scopes | undefined;
  readonly resourceMetadata?: string | undefined;
}

/** The protected resource as its metadata describes it (RFC 9728 §2). */
export const ResourceInfo = Schema.Struct({
  resource: Schema.String,
  metadataUrl: Schema.String,
  authorizationServer: Schema.String,
  scopesSupported: Schema.optional(Strings),
  /** True for the 2025-03-26 fallback: no protected-resource metadata, the server's origin is the AS. */
  legacy: Schema.Boolean,
  /**
   * The resource accepts DPoP-bound access tokens only (RFC 9728 §2
   * `dpop_bound_access_tokens_required`): every token request for it carries a proof.
   */
  dpopBoundTokensRequired: Schema.optional(Schema.Boolean),
});
export type ResourceInfo = typeof ResourceInfo.Type;

/** The authorization server and its metadata (RFC 8414 §2). */
export const AuthServerInfo = Schema.Struct({
  issuer: Schema.String,
  metadata: AuthorizationServerMetadata,
  metadataUrl: Schema.String,
  /**
   * Epoch milliseconds of the discovery: metadata older than its time to live is fetched again
   * (a snapshot saved before this field existed decodes as discovered long ago).
   */
  discoveredAt: Schema.optionalWith(Schema.Number, { default: () => 0 }),
});
export type AuthServerInfo = typeof AuthServerInfo.Type;

/** The client this session uses at one issuer; its secret or key stays in the store. */
export const ClientInfo = Schema.Struct({
  issuer: Schema.String,
  clientId: Schema.String,
  kind: RegistrationKind,
});
export type ClientInfo = typeof ClientInfo.Type;

/** A token's metadata; the token itself stays in the store. */
export const TokenInfo = Schema.Struct({
  issuer: Schema.String,
  clientId: Schema.String,
  resource: Schema.String,
  version: Schema.Number,
  scopes: Strings,
  expiresAt: Schema.optional(Schema.Number),
  hasRefreshToken: Schema.Boolean,
  /** Epoch milliseconds when the token was obtained: with expiresAt, its lifetime. */
  obtainedAt: Schema.Number,
  /**
   * How this token was obtained; a token a refresh after a 401 produced that still gets 401
   * re-authorizes (a refresh cannot fix a token the resource refuses for another reason).
   */
  obtainedBy: Schema.Literal("authorization", "refresh", "refresh-after-401"),
});
export type TokenInfo = typeof TokenInfo.Type;

/** Where the next authorization's scopes come from (MCP "Scope Selection Strategy"); traced. */
export type ScopeOrigin = ScopeSource | "step-up" | "without-scope";

export interface ScopePlan {
  readonly requested: Scopes;
  readonly origin: ScopeOrigin;
  /** Scopes added as a convenience (offline_access, SEP-2207); their absence is no denial. */
  readonly optional: Scopes;
  /**
   * Scopes the current request cannot do without: configured ∪ challenged (MCP "Protected Resource
   * Metadata Discovery Requirements": the challenge is authoritative for the current request).
   */
  readonly required: Scopes;
}

/** Which grant obtains tokens: explicit client configuration, named in the trace. */
export type GrantType =
  | "authorization_code"
  | "client_credentials"
  | "jwt_bearer"
  | "cross_app_access"
  | "device_code";

/**
 * Whether the session may start a flow that needs the user (a browser step, a user code):
 * "allowed" (an interactive application), or "never" (a background session: a flow that needs
 * the user ends at once in InteractionRequired; a token held or refreshable keeps serving).
 */
export type InteractionPolicy = "allowed" | "never";

export interface AuthConfig {
  /** The grant `obtaining` runs (its child flow). */
  readonly grant: GrantType;
  /** May a flow prompt the user? */
  readonly interaction: InteractionPolicy;
  /**
   * The user agent has no browser on this machine (headless: SSH, a container): for the
   * authorization code, the device authorization grant (RFC 8628) replaces the browser step when
   * the authorization server offers it — a decision the trace names.
   */
  readonly preferDeviceFlow: boolean;
  /** Bounded authorizations for one required scope set (MCP retry limit; conformance ≤ 3). */
  readonly maxAuthorizationsPerScopeSet: number;
  /** Bounded authorizations in all for the session, until the application calls authorize(). */
  readonly maxAuthorizationsPerSession: number;
  /** Refresh at most this long before the access token expires (a one-hour token: 60 s ahead). */
  readonly refreshSkewMillis: number;
  /**
   * For a token that lives shorter: the part of its lifetime the refresh goes ahead by (never
   * under 2 s nor over half the lifetime). 0.1: one refresh per lifetime.
   */
  readonly refreshAheadFraction: number;
  /** Transient refresh failures (5xx, network, timeout) retried this many times, with backoff. */
  readonly maxRefreshRetries: number;
  readonly refreshBackoffMillis: number;
  /** How long the browser step may take. */
  readonly authorizationTimeoutMillis: number;
  /**
   * After a failed flow, requests get its error at once, without a request, for this long; the
   * cool-down doubles with each failed flow in a row, up to `maxRetryCooldownMillis`.
   */
  readonly retryCooldownMillis: number;
  readonly maxRetryCooldownMillis: number;
  /** Scopes the application always asks for. */
  readonly configuredScopes: Scopes;
  /** Add offline_access when the authorization server lists it (SEP-2207). */
  readonly offlineAccess: boolean;
  /** Authorization-server metadata older than this is discovered again before it is used. */
  readonly metadataTtlMillis: number;
}

export const defaultAuthConfig: AuthConfig = {
  grant: "authorization_code",
  interaction: "allowed",
  preferDeviceFlow: false,
  maxAuthorizationsPerScopeSet: 3,
  maxAuthorizationsPerSession: 10,
  refreshSkewMillis: 60_000,
  refreshAheadFraction: 0.1,
  maxRefreshRetries: 3,
  refreshBackoffMillis: 500,
  authorizationTimeoutMillis: 5 * 60_000,
  retryCooldownMillis: 2_000,
  maxRetryCooldownMillis: 60_000,
  configuredScopes: [],
  offlineAccess: true,
  metadataTtlMillis: 3_600_000,
};

/** What a new session may start from: decoded from the store by the session (persistence.ts). */
export interface RestoredSession {
  readonly resource?: ResourceInfo | undefined;
  readonly authServer?: AuthServerInfo | undefined;
  readonly client?: ClientInfo | undefined;
  readonly token?: TokenInfo | undefined;
}

/** What a flow found out about the server, kept by the session whatever the flow's outcome. */
export type Learned = Omit<RestoredSession, "token">;

export interface AuthInput {
  readonly serverUrl: string;
  readonly config?: Partial<AuthConfig> | undefined;
  readonly restored?: RestoredSession | undefined;
}

export interface AuthContext {
  readonly serverUrl: string;
  readonly config: AuthConfig;
  readonly resource?: ResourceInfo | undefined;
  readonly authServer?: AuthServerInfo | undefined;
  readonly client?: ClientInfo | undefined;
  readonly token?: TokenInfo | undefined;
  /** The challenge the current (or last) flow answers. */
  readonly challenge?: ChallengeInfo | undefined;
  /** The last scope plan a flow authorized: its optional scopes, its required ones. */
  readonly scopes?: ScopePlan | undefined;
  /** Every scope asked for so far in this session (the SEP-2350 union for step-up). */
  readonly requestedSoFar: Scopes;
  /** Scopes the authorization server or the user declined: never prompted for again. */
  readonly declined: Scopes;
  /**
   * Scopes taken from `scopes_supported` that the authorization server refused (invalid_scope):
   * never asked for again in this session, in a step-up or a re-authorization.
   */
  readonly refused: Scopes;
  /** The loop guard's counters: authorizations started per requested scope set (loop-guard.ts). */
  readonly authorizations: AuthorizationCounts;
  readonly refreshFailures: number;
  /** Why the current refresh runs (the token it yields remembers a refresh after a 401). */
  readonly refreshReason?: "proactive" | "after-401" | "expired" | undefined;
  /** The next flow registers the client again first (the token endpoint forgot it). */
  readonly reregistered: boolean;
  /** Flows that failed in a row (capped): the cool-down after a failure doubles with each. */
  readonly failedFlows: number;
  /**
   * The resource accepted the current token at least once. Only a token in use is refreshed
   * ahead of expiry: an idle session makes no requests at all.
   */
  readonly tokenAccepted: boolean;
  /** The resource answered the current token with a success (2xx) at least once. */
  readonly tokenProven: boolean;
  /** The failure the session is in (the last flow's or refresh's), until a flow starts. */
  readonly error?: AuthchartError | undefined;
}

export type AuthEvent =
  /** A protected request got 401 or 403; tokenVersion is the token it carried (none: no token). */
  | {
      readonly type: "challenge.received";
      readonly requestId: string;
      readonly challenge: ChallengeInfo;
      readonly tokenVersion?: number | undefined;
    }
  /** A request found the access token past its expiry before sending it. */
  | { readonly type: "token.expired"; readonly requestId: string; readonly tokenVersion: number }
  /**
   * A request carrying this token got an answer other than 401 (sent once per token): the token
   * is in use, so it is refreshed ahead of expiry; and a token that a refresh after a 401
   * produced has proven itself, so a later 401 may refresh again.
   */
  | {
      readonly type: "token.accepted";
      readonly tokenVersion: number;
      /** The answer was a success (2xx): the token proved itself, not merely was not refused. */
      readonly proven?: boolean | undefined;
    }
  /**
   * The store holds a newer token for this resource, issuer and client than the machine knows
   * (another session or process refreshed): use it instead of refreshing again.
   */
  | { readonly type: "token.adopted"; readonly token: TokenInfo }
  /** The application asks to authorize ahead of time (or again, after a failure). */
  | { readonly type: "session.authorize"; readonly scopes?: Scopes | undefined }
  /** Forget tokens (and the session's metadata); the store is cleared by the session. */
  | { readonly type: "session.logout" }
  /** Every request waiting on the current flow gave up: stop it. */
  | { readonly type: "flow.cancel" }
  | FlowReport;

/**
 * What a child flow tells its parent while it runs (sent to the parent, never to the outside):
 * an authorization starts for a plan — the loop guard counts it for the session, whatever
 * becomes of the flow — and the decisions it takes, for the parent's trace.
 */
export type FlowReport =
  | {
      readonly type: "flow.authorizing";
      readonly plan: ScopePlan;
      /** Scopes the authorization server refused in this flow, dropped from this plan. */
      readonly refused: Scopes;
    }
  | { readonly type: "flow.trace"; readonly entry: TraceEntry };

/** Why a challenge or expiry is answered as it is; the request loop acts on it. */
export type ChallengeAnswer =
  | { readonly type: "challenge.answered"; readonly requestId: string; readonly outcome: "retry" }
  | { readonly type: "challenge.answered"; readonly requestId: string; readonly outcome: "wait" }
  | {
      readonly type: "challenge.answered";
      readonly requestId: string;
      readonly outcome: "refused";
      readonly error: AuthchartError;
    };

/**
 * The lifecycle came to rest (a quiet state): a flow or refresh ended, or the application's
 * request needed none. Everyone who waited gets the same outcome.
 */
export type Settled =
  | { readonly type: "settled"; readonly outcome: "authorized" }
  | {
      readonly type: "settled";
      readonly outcome: "failed";
      /** Undefined when the flow stopped without an error of its own (a logout, a stop). */
      readonly error: AuthchartError | undefined;
    };

/** The decision trace: one entry per decision, with the reason in words. */
export interface TraceEntry {
  readonly type: "trace";
  readonly decision: Decision;
  readonly reason: string;
  readonly details?:
    | Readonly<Record<string, string | number | boolean | readonly string[]>>
    | undefined;
}

export type AuthEmitted = ChallengeAnswer | Settled | TraceEntry;
