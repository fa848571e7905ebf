/**
 * The contracts between the statecharts and the steps. Each machine declares its actors with a
 * placeholder that refuses to run, so the exported machines can be visualized, inspected and
 * driven in tests with `machine.provide({ actors })`; the session provides the real ones
 * (step-actors.ts), which run the step Effects.
 */
import type { Redacted } from "effect";
import type { AppliedAdjustment } from "../quirks/profile.js";
import type { AuthorizationGrant } from "../steps/authorize.js";
import type { AuthServerInfo, ClientInfo, Scopes, TokenInfo } from "./model.js";

/**
 * What every step on the way to a token is told about the resource: when it takes DPoP-bound
 * tokens only (RFC 9728 §2 `dpop_bound_access_tokens_required`), no step does what a token
 * without a proof would waste — no registration, no browser, no token request.
 */
export interface ResourceDpopRequirement {
  /** The resource's URI, set when it takes DPoP-bound tokens only. */
  readonly resourceRequiringDpop?: string | undefined;
}

export interface DiscoverResourceActorInput {
  readonly serverUrl: string;
  readonly resourceMetadataUrl?: string | undefined;
}
export interface DiscoverAuthServerActorInput {
  readonly issuer: string;
  /** The metadata serves the authorization code: an authorization endpoint and PKCE S256 needed. */
  readonly forAuthorizationCode: boolean;
  /** Set for the MCP 2025-03-26 fallback: the MCP server URL whose origin is the AS. */
  readonly legacyServerUrl?: string | undefined;
}
export interface RegisterActorInput extends ResourceDpopRequirement {
  readonly authServer: AuthServerInfo;
  readonly scopes: Scopes;
  /** Forget the stored registration first (invalid_client on a dynamic client). */
  readonly forgetStored: boolean;
  /** The grants to register for, when registering dynamically (default: the authorization code). */
  readonly grantTypes?: readonly string[] | undefined;
}
export interface AuthorizeActorInput extends ResourceDpopRequirement {
  readonly authServer: AuthServerInfo;
  readonly client: ClientInfo;
  readonly resource: string;
  readonly scopes: Scopes;
}
export interface ExchangeCodeActorInput extends ResourceDpopRequirement {
  readonly authServer: AuthServerInfo;
  readonly client: ClientInfo;
  /** The code and verifier, straight from the authorize actor's done event. */
  readonly grant: AuthorizationGrant;
}
export interface RefreshActorInput extends ResourceDpopRequirement {
  /** The token to refresh; a session without one has nothing to refresh (a typed failure). */
  readonly token: TokenInfo | undefined;
  /** The authorization server as known; unknown or past its time to live: discovered again. */
  readonly authServer: AuthServerInfo | undefined;
  readonly reason: "proactive" | "after-401" | "expired";
  /** Metadata discovered again for this refresh must serve the authorization code. */
  readonly forAuthorizationCode: boolean;
  /** Set when the resource uses the 2025-03-26 fallback: stale metadata is rediscovered that way. */
  readonly legacyServerUrl?: string | undefined;
}

/** A token request that needs the authorization server and the scope plan only. */
export interface DirectGrantActorInput extends ResourceDpopRequirement {
  readonly authServer: AuthServerInfo;
  /** The MCP server's canonical URI: the `resource` of the request (RFC 8707 §2). */
  readonly resource: string;
  readonly scopes: Scopes;
}
/** The JWT bearer grant with the ID-JAG the identity provider issued (SEP-990). */
export interface IdJagGrantActorInput extends DirectGrantActorInput {
  /** Straight from the requestIdJag actor's done event. */
  readonly idJag: {
    readonly assertion: Redacted.Redacted<string>;
    readonly scopes?: Scopes | undefined;
  };
}
export interface DeviceCodeActorInput extends DirectGrantActorInput {
  readonly client: ClientInfo;
}
/** A device authorization the user was shown (RFC 8628 §3.2-§3.3), its code a secret. */
export interface PendingDeviceAuthorization {
  readonly deviceCode: Redacted.Redacted<string>;
  readonly expiresAt: number;
  readonly intervalSeconds: number;
}
export interface DeviceTokenActorInput extends DeviceCodeActorInput {
  /** Straight from the requestDeviceCode actor's done event. */
  readonly pending: PendingDeviceAuthorization;
}

/**
 * Where a background session would need the user: is a token obtained elsewhere over the same
 * store (another session, `authchart login`) stored for this resource and authorization server?
 */
export interface FindStoredTokenActorInput extends ResourceDpopRequirement {
  readonly resource: string;
  readonly authServer: AuthServerInfo;
}
/** A stored token set's metadata and the client it was issued to; the token stays in the store. */
export interface StoredToken {
  readonly token: TokenInfo;
  readonly client: ClientInfo;
}

/**
 * A step's result with what a quirk profile changed in its requests (quirks/): the flow traces
 * each adjustment, then keeps the result without them.
 */
export type Adjusted<A> = A & { readonly adjustments?: readonly AppliedAdjustment[] | undefined };

/** The result as the lifecycle keeps it: without the adjustments, which only the trace shows. */
export const withoutAdjustments = <A extends object>(adjusted: Adjusted<A>): A => {
  const { adjustments: _, ...rest } = adjusted;
  return rest as unknown as A;
};

/** One adjustment as a trace entry: the profile, what changed, why. */
export const adjustmentEntry = (adjustment: AppliedAdjustment) => ({
  decision: "quirk" as const,
  reason: `${adjustment.profile}: ${adjustment.change} (${adjustment.why})`,
  details: { profile: adjustment.profile, adjustment: adjustment.adjustment },
});

/** A placeholder actor's body: it refuses to run. */
export const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(
    `the ${name} actor is not provided: use machine.provide({ actors }) or createSession`,
  );
};
