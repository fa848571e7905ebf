/**
 * The statechart's data: context, events, emitted events, input. Only metadata lives here —
 * scopes, expiries, versions, URLs, ids. Tokens, secrets and verifiers stay in the
 * CredentialStore (DESIGN invariants); the one exception, the authorization code and verifier
 * between `authorizing` and `exchangingCode`, is carried as `Redacted` and never persisted.
 *
 * The shape (states named after the spec's words):
 *
 *   restoring ─▶ authorized (a stored, usable token) | unauthorized
 *   unauthorized ──challenge.received / session.authorize──▶ discovering
 *   discovering.resourceMetadata ─▶ discovering.authServerMetadata ─▶ registering
 *     (no resource metadata at all ─▶ the 2025-03-26 fallback, SPEC D15)
 *   registering ─▶ authorizing ─▶ exchangingCode ─▶ authorized
 *   authorized ──after refreshDue──▶ refreshing            (proactive, before expiry)
 *   authorized ──401 on the current token──▶ refreshing | discovering
 *   authorized ──401 on an older token──▶ (answer: retry with the current token)
 *   authorized ──403 insufficient_scope──▶ authorizing with granted ∪ requested ∪ challenged
 *              (never refreshing: a refresh cannot widen scope, SPEC T7, S4, S5)
 *   refreshing ──invalid_grant──▶ discovering; ──transient──▶ refreshBackoff ─▶ refreshing
 *   exchangingCode | refreshing ──invalid_client (dynamic client)──▶ registering, once
 *   authorizing ──invalid_scope on scopes from scopes_supported──▶ authorizing without scope, once
 *   any flow ──loop guard tripped / unrecoverable──▶ failed
 */

import type { ScopeSource } from "../protocol/scopes.js";
import type { RegistrationKind } from "../schema/credentials.js";
import type { AuthorizationServerMetadata } from "../schema/wire.js";
import type { AuthorizationGrant } from "../steps/authorize.js";
import type { AuthchartError } from "./errors.js";
import type { AuthorizationCounts } from "./loop-guard.js";

export type Scopes = readonly string[];

/** What a request saw: the challenge it got and the token version it was sent with. */
export interface ChallengeInfo {
  readonly status: 401 | 403;
  readonly error?: string | undefined;
  readonly scope?: Scopes | undefined;
  readonly resourceMetadata?: string | undefined;
}

export interface ResourceInfo {
  readonly resource: string;
  readonly metadataUrl: string;
  readonly authorizationServer: string;
  readonly scopesSupported?: Scopes | undefined;
  /** True for the 2025-03-26 fallback: no protected-resource metadata (SPEC D15). */
  readonly legacy: boolean;
}

export interface AuthServerInfo {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly metadataUrl: string;
}

export interface ClientInfo {
  readonly issuer: string;
  readonly clientId: string;
  readonly kind: RegistrationKind;
}

export interface TokenInfo {
  readonly issuer: string;
  readonly clientId: string;
  readonly resource: string;
  readonly version: number;
  readonly scopes: Scopes;
  readonly expiresAt?: number | undefined;
  readonly hasRefreshToken: boolean;
  /** Epoch milliseconds when the token was obtained: with expiresAt, its lifetime. */
  readonly obtainedAt: number;
  /** How this token was obtained; a token refreshed after a 401 that still gets 401 re-authorizes (T9). */
  readonly obtainedBy: "authorization" | "refresh" | "refresh-after-401";
}

/** Where the scopes of the next authorization come from (SPEC S1-S5); the trace shows it. */
export type ScopeOrigin = ScopeSource | "step-up" | "without-scope";

export interface ScopePlan {
  readonly requested: Scopes;
  readonly origin: ScopeOrigin;
  /** Scopes added as a convenience (offline_access, T10); their absence in a grant is no denial. */
  readonly optional: Scopes;
  /** Scopes the current request cannot do without: configured ∪ challenged (SPEC S2). */
  readonly required: Scopes;
}

export interface AuthConfig {
  /** Bounded authorizations for one required scope set (SPEC S6; conformance ≤ 3). */
  readonly maxAuthorizationsPerScopeSet: number;
  /** Bounded authorizations in all for the session, until the application calls authorize(). */
  readonly maxAuthorizationsPerSession: number;
  /** Refresh this long before the access token expires. */
  readonly refreshSkewMillis: number;
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
  /** Add offline_access when the authorization server lists it (SPEC T10). */
  readonly offlineAccess: boolean;
}

export const defaultAuthConfig: AuthConfig = {
  maxAuthorizationsPerScopeSet: 3,
  maxAuthorizationsPerSession: 10,
  refreshSkewMillis: 60_000,
  maxRefreshRetries: 3,
  refreshBackoffMillis: 500,
  authorizationTimeoutMillis: 5 * 60_000,
  retryCooldownMillis: 2_000,
  maxRetryCooldownMillis: 60_000,
  configuredScopes: [],
  offlineAccess: true,
};

/** What a new session may start from: decoded from the store by the session (persistence.ts). */
export interface RestoredSession {
  readonly resource?: ResourceInfo | undefined;
  readonly authServer?: AuthServerInfo | undefined;
  readonly client?: ClientInfo | undefined;
  readonly token?: TokenInfo | undefined;
}

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
  /** The challenge the current flow answers. */
  readonly challenge?: ChallengeInfo | undefined;
  readonly scopes?: ScopePlan | undefined;
  /** Every scope asked for so far in this session (SEP-2350 union, SPEC S5). */
  readonly requestedSoFar: Scopes;
  /** Scopes the authorization server or the user declined: never prompted for again. */
  readonly declined: Scopes;
  /** The loop guard's counters: authorizations started per requested scope set (loop-guard.ts). */
  readonly authorizations: AuthorizationCounts;
  readonly refreshFailures: number;
  /** Why the current refresh runs (the token it yields remembers a refresh after a 401, T9). */
  readonly refreshReason?: "proactive" | "after-401" | "expired" | undefined;
  readonly reregistered: boolean;
  /** Flows that failed in a row (capped): the cool-down after a failure doubles with each. */
  readonly failedFlows: number;
  /**
   * The resource accepted the current token at least once. Only a token in use is refreshed
   * ahead of expiry: an idle session makes no requests at all.
   */
  readonly tokenAccepted: boolean;
  readonly pendingGrant?: AuthorizationGrant | undefined;
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
   * produced has proven itself, so a later 401 may refresh again (SPEC T9).
   */
  | { readonly type: "token.accepted"; readonly tokenVersion: number }
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
  | { readonly type: "flow.cancel" };

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

/** The decision trace (behaviour 12): one entry per decision, with the reason in words. */
export interface TraceEntry {
  readonly type: "trace";
  readonly decision: string;
  readonly reason: string;
  readonly details?:
    | Readonly<Record<string, string | number | boolean | readonly string[]>>
    | undefined;
}

export type AuthEmitted = ChallengeAnswer | TraceEntry;
