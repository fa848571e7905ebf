/**
 * What authchart keeps between requests and processes: the client registration per authorization
 * server (SEP-2352, "Clarify authorization server binding and migration") and the token set per
 * (resource, issuer, client) (MCP "Token Handling"). Secrets are `Redacted` in memory so that no
 * log, error or inspection event can print them (MCP "Token Theft"); the encoded form (for a
 * persistent store) carries them as plain strings, which is the store's to protect.
 */
import { Schema } from "effect";
import { dpopAlgorithms } from "../protocol/dpop.js";

const SecretString = Schema.Redacted(Schema.String);

/** How the client obtained its client_id (MCP "Client Registration Approaches"). */
export const RegistrationKind = Schema.Literal(
  "pre-registered",
  "client-id-metadata-document",
  "dynamic",
);
export type RegistrationKind = typeof RegistrationKind.Type;

/** Client authentication at the token endpoint (OAuth 2.1 §2.4). */
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

/** Identifies one token set: tokens are never shared across resources, issuers or clients. */
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

/**
 * A private JSON Web Key (RFC 7517 §4; RFC 7518 §6) as WebCrypto exports it: the members of the
 * EC, OKP (Ed25519) and RSA keys DPoP proofs are signed with. Other members (`ext`, `key_ops`)
 * are dropped; the key is imported with the usage it needs.
 */
const PrivateJwk = Schema.Struct({
  kty: Schema.Literal("EC", "OKP", "RSA"),
  crv: Schema.optional(Schema.String),
  x: Schema.optional(Schema.String),
  y: Schema.optional(Schema.String),
  n: Schema.optional(Schema.String),
  e: Schema.optional(Schema.String),
  d: Schema.String,
  p: Schema.optional(Schema.String),
  q: Schema.optional(Schema.String),
  dp: Schema.optional(Schema.String),
  dq: Schema.optional(Schema.String),
  qi: Schema.optional(Schema.String),
});
export type PrivateJwk = typeof PrivateJwk.Type;

/**
 * The DPoP key pair of one token set (RFC 9449 §4-§5), kept beside the tokens it binds (same
 * `key`): a refresh token bound to it (public clients, RFC 9449 §5) is useless without it, so it
 * lives as long as they do, across restarts and replicas. The private key is `Redacted` like every
 * secret here; its encoded form is the store's to protect, as refresh tokens are. The public key
 * is derived from it.
 */
export const DpopKey = Schema.Struct({
  key: TokenKey,
  /** The JWS algorithm the proofs carry (RFC 9449 §4.2 `alg`). */
  alg: Schema.Literal(...dpopAlgorithms),
  privateJwk: Schema.Redacted(PrivateJwk),
  createdAt: Schema.Number,
});
export type DpopKey = typeof DpopKey.Type;
