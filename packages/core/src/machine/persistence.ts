/**
 * What a session persists between processes: the quiet part of the machine's context — the
 * discovered metadata, the chosen client's id, the token's metadata — never a token or secret
 * (those are the store's own entries). Saved only at quiet states (no actor running, no timer
 * that matters: the refresh deadline is a timestamp), decoded with Schema before use, and fed to
 * a fresh machine as input, so timers are armed anew and no single-use step runs twice.
 */
import { Schema } from "effect";
import { RegistrationKind } from "../schema/credentials.js";
import { AuthorizationServerMetadata } from "../schema/wire.js";
import type { AuthContext, RestoredSession } from "./model.js";

const Strings = Schema.Array(Schema.String);

export const PersistedSession = Schema.Struct({
  format: Schema.Literal(1),
  serverUrl: Schema.String,
  savedAt: Schema.Number,
  resource: Schema.optional(
    Schema.Struct({
      resource: Schema.String,
      metadataUrl: Schema.String,
      authorizationServer: Schema.String,
      scopesSupported: Schema.optional(Strings),
      legacy: Schema.Boolean,
    }),
  ),
  authServer: Schema.optional(
    Schema.Struct({
      issuer: Schema.String,
      metadata: AuthorizationServerMetadata,
      metadataUrl: Schema.String,
    }),
  ),
  client: Schema.optional(
    Schema.Struct({ issuer: Schema.String, clientId: Schema.String, kind: RegistrationKind }),
  ),
  token: Schema.optional(
    Schema.Struct({
      issuer: Schema.String,
      clientId: Schema.String,
      resource: Schema.String,
      version: Schema.Number,
      scopes: Strings,
      expiresAt: Schema.optional(Schema.Number),
      hasRefreshToken: Schema.Boolean,
      obtainedAt: Schema.Number,
      obtainedBy: Schema.Literal("authorization", "refresh", "refresh-after-401"),
    }),
  ),
});
export type PersistedSession = typeof PersistedSession.Type;

/** States in which nothing is in flight: the only ones persisted. */
export const quietStates = ["unauthorized", "authorized", "failed"] as const;

export const toPersisted = (context: AuthContext, savedAt: number): PersistedSession => ({
  format: 1,
  serverUrl: context.serverUrl,
  savedAt,
  resource: context.resource,
  authServer: context.authServer,
  client: context.client,
  token: context.token,
});

/**
 * What a new machine starts from. Authorization-server metadata older than `metadataTtlMillis` is
 * dropped and discovered again when next needed; the resource's description, the client and the
 * token stay — they are bound to their issuer.
 */
export const toRestored = (
  persisted: PersistedSession,
  now: number,
  metadataTtlMillis: number,
): RestoredSession => {
  const fresh = now - persisted.savedAt < metadataTtlMillis;
  return {
    // The resource's description stays (its `legacy` flag says how to rediscover); the
    // authorization-server metadata older than the time to live is discovered again.
    resource: persisted.resource,
    authServer: fresh ? persisted.authServer : undefined,
    client: persisted.client,
    token: persisted.token,
  };
};
