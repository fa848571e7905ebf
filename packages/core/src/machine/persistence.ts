/**
 * What a session persists between processes: the quiet part of the machine's context — the
 * discovered metadata, the chosen client's id, the token's metadata — never a token or secret
 * (those are the store's own entries). Saved only at quiet states (no actor running, no timer
 * that matters: the refresh deadline is a timestamp), decoded with Schema before use, and fed to
 * a fresh machine as input, so timers are armed anew and no single-use step runs twice. The
 * shapes are the machine's own Schemas (model.ts): a field added there is saved here.
 */
import { Schema } from "effect";
import {
  type AuthContext,
  AuthServerInfo,
  ClientInfo,
  ResourceInfo,
  type RestoredSession,
  TokenInfo,
} from "./model.js";

export const PersistedSession = Schema.Struct({
  format: Schema.Literal(1),
  serverUrl: Schema.String,
  savedAt: Schema.Number,
  resource: Schema.optional(ResourceInfo),
  authServer: Schema.optional(AuthServerInfo),
  client: Schema.optional(ClientInfo),
  token: Schema.optional(TokenInfo),
});
export type PersistedSession = typeof PersistedSession.Type;

/** The parts of the context a session persists; `toPersisted` writes exactly these. */
const persistedParts = ["serverUrl", "resource", "authServer", "client", "token"] as const;

/**
 * Whether two contexts persist the same record: the same parts by reference (assign builds new
 * values, so an unchanged part is the same object).
 */
export const samePersistedParts = (a: AuthContext, b: AuthContext): boolean =>
  persistedParts.every((part) => a[part] === b[part]);

/** Whether a context has learned nothing worth persisting (its record would name its server only). */
export const persistsNothing = (context: AuthContext): boolean =>
  persistedParts.every((part) => part === "serverUrl" || context[part] === undefined);

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
 * dropped and discovered again when next needed; the resource's description (its `legacy` flag
 * says how to rediscover), the client and the token stay — they are bound to their issuer.
 */
export const toRestored = (
  persisted: PersistedSession,
  now: number,
  metadataTtlMillis: number,
): RestoredSession => {
  const authServer = persisted.authServer && {
    ...persisted.authServer,
    // A snapshot from before discovery times were kept: as old as the snapshot.
    discoveredAt: persisted.authServer.discoveredAt || persisted.savedAt,
  };
  return {
    resource: persisted.resource,
    authServer:
      authServer && now - authServer.discoveredAt < metadataTtlMillis ? authServer : undefined,
    client: persisted.client,
    token: persisted.token,
  };
};
