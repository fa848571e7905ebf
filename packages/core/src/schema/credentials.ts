/**
 * What authchart keeps between requests and processes: the client registration per authorization
 * server and the token set per (resource, issuer, client) — SPEC R11, T6, T8. Secrets are
 * `Redacted` in memory so that no log, error or inspection event can print them; the encoded form
 * (for a persistent store) carries them as plain strings, which is the store's to protect.
 */
import { Schema } from "effect";

const SecretString = Schema.Redacted(Schema.String);

/** How the client obtained its client_id (SPEC R1). */
export const RegistrationKind = Schema.Literal(
  "pre-registered",
  "client-id-metadata-document",
  "dynamic",
);
export type RegistrationKind = typeof RegistrationKind.Type;

/** Client authentication at the token endpoint (OAuth 2.1 §2.4, SPEC T2). */
export const TokenEndpointAuthMethod = Schema.Literal(
  "none",
  "client_secret_basic",
  "client_secret_post",
  "private_key_jwt",
);
export type TokenEndpointAuthMethod = typeof TokenEndpointAuthMethod.Type;

export const ClientRegistration = Schema.Struct({
  issuer: Schema.String,
  kind: RegistrationKind,
  clientId: Schema.String,
  clientSecret: Schema.optional(SecretString),
  /** Epoch seconds; 0 or absent means the secret does not expire (RFC 7591 §3.2.1). */
  clientSecretExpiresAt: Schema.optional(Schema.Number),
  tokenEndpointAuthMethod: Schema.optional(Schema.String),
  redirectUris: Schema.Array(Schema.String),
  grantTypes: Schema.optional(Schema.Array(Schema.String)),
  scope: Schema.optional(Schema.String),
  registeredAt: Schema.Number,
});
export type ClientRegistration = typeof ClientRegistration.Type;

/** Identifies one token set: tokens are never shared across resources, issuers or clients (T6). */
export const TokenKey = Schema.Struct({
  resource: Schema.String,
  issuer: Schema.String,
  clientId: Schema.String,
});
export type TokenKey = typeof TokenKey.Type;

export const TokenSet = Schema.Struct({
  key: TokenKey,
  accessToken: SecretString,
  tokenType: Schema.String,
  refreshToken: Schema.optional(SecretString),
  /** Epoch milliseconds after which the access token is not to be sent; absent = unknown. */
  expiresAt: Schema.optional(Schema.Number),
  /** The granted scope (OAuth 2.1 §3.2.3: a returned `scope` is the granted set; else the request's). */
  scopes: Schema.Array(Schema.String),
  obtainedAt: Schema.Number,
  /** Increases with every new access token for this key: the basis of rejected-token attribution. */
  version: Schema.Number,
});
export type TokenSet = typeof TokenSet.Type;
