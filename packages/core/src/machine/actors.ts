/**
 * The contracts between the statechart and the steps. The machine declares each actor with a
 * placeholder that refuses to run, so the exported machine can be visualized, inspected and
 * driven in tests with `machine.provide({ actors })`; the session provides the real ones
 * (step-actors.ts), which run the step Effects.
 */
import { fromPromise } from "xstate";
import type { AuthorizationServerMetadata } from "../schema/wire.js";
import type { AuthorizationGrant } from "../steps/authorize.js";
import type { AuthServerInfo, ClientInfo, ResourceInfo, Scopes, TokenInfo } from "./model.js";

export interface DiscoverResourceActorInput {
  readonly serverUrl: string;
  readonly resourceMetadataUrl?: string | undefined;
}
export interface DiscoverAuthServerActorInput {
  readonly issuer: string;
  /** Set for the 2025-03-26 fallback (SPEC D15): the MCP server URL whose origin is the AS. */
  readonly legacyServerUrl?: string | undefined;
}
export interface RegisterActorInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly scopes: Scopes;
  /** Forget the stored registration first (behaviour 6: invalid_client on a dynamic client). */
  readonly forgetStored: boolean;
}
export interface AuthorizeActorInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly clientId: string;
  readonly resource: string;
  readonly scopes: Scopes;
}
export interface ExchangeCodeActorInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly clientId: string;
  readonly grant: AuthorizationGrant;
}
export interface RefreshActorInput {
  readonly issuer: string;
  readonly metadata: AuthorizationServerMetadata;
  readonly clientId: string;
  readonly resource: string;
  readonly reason: "proactive" | "after-401" | "expired";
  /** Set when the resource uses the 2025-03-26 fallback: stale metadata is rediscovered that way. */
  readonly legacyServerUrl?: string | undefined;
}

const notProvided = (name: string) => async (): Promise<never> => {
  throw new Error(
    `the ${name} actor is not provided: use machine.provide({ actors }) or createSession`,
  );
};

export const actorPlaceholders = {
  discoverResource: fromPromise<ResourceInfo, DiscoverResourceActorInput>(
    notProvided("discoverResource"),
  ),
  discoverAuthServer: fromPromise<AuthServerInfo, DiscoverAuthServerActorInput>(
    notProvided("discoverAuthServer"),
  ),
  register: fromPromise<ClientInfo, RegisterActorInput>(notProvided("register")),
  authorize: fromPromise<AuthorizationGrant, AuthorizeActorInput>(notProvided("authorize")),
  exchangeCode: fromPromise<TokenInfo, ExchangeCodeActorInput>(notProvided("exchangeCode")),
  refreshToken: fromPromise<TokenInfo, RefreshActorInput>(notProvided("refreshToken")),
};
