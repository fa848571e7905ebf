/**
 * Where authchart keeps things in Redis. Every key starts with a prefix (default `authchart:`,
 * so one Redis can hold several applications' entries, each with its own prefix) and ends with
 * a SHA-256 of core's store key — never a URL, an issuer, a client id or a secret in a key name
 * (`SCAN` and `MONITOR` show key names to anyone who can run them).
 *
 * | key                          | type   | holds                                                   |
 * | ---------------------------- | ------ | ------------------------------------------------------- |
 * | `<prefix>tokens:<sha256>`    | hash   | `version` (the token set's version), `value` (TokenSet) |
 * | `<prefix>dpop-key:<sha256>`  | string | the DpopKey of that token set                           |
 * | `<prefix>client:<sha256>`    | string | the ClientRegistration at one issuer (its secret too)   |
 * | `<prefix>session:<sha256>`   | string | a session's persisted machine state (no secret)         |
 * | `<prefix>lock:<lock name>`   | string | `<fence>:<holder id>` of the lease, with a TTL          |
 * | `<prefix>fence:<lock name>`  | string | the last fencing token issued for that lock (a counter) |
 *
 * The sha256 is of core's key for the entry (`tokenStoreKey`, `dpopKeyStoreKey`,
 * `clientStoreKey`, `sessionStoreKey`: JSON arrays of their parts, so no separator can make two
 * entries collide). Lock names are core's (`tokenLockName`: `tokens-<sha256>`), themselves
 * hashes; any other name is hashed here too.
 */
import { createHash } from "node:crypto";
import {
  clientStoreKey,
  dpopKeyStoreKey,
  sessionStoreKey,
  type TokenKey,
  tokenStoreKey,
} from "@authchart/core";

export const defaultPrefix = "authchart:";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** A lock name as it goes into a key: core's names are hashes already; any other is hashed. */
const safeLockName = (name: string) =>
  /^[A-Za-z0-9_-]{1,100}$/.test(name) ? name : sha256(name).slice(0, 40);

export interface RedisKeys {
  readonly prefix: string;
  readonly tokens: (key: TokenKey) => string;
  readonly dpopKey: (key: TokenKey) => string;
  readonly client: (issuer: string) => string;
  readonly session: (serverUrl: string) => string;
  readonly lock: (name: string) => string;
  readonly fence: (name: string) => string;
}

export const redisKeys = (prefix: string = defaultPrefix): RedisKeys => ({
  prefix,
  tokens: (key) => `${prefix}tokens:${sha256(tokenStoreKey(key))}`,
  dpopKey: (key) => `${prefix}dpop-key:${sha256(dpopKeyStoreKey(key))}`,
  client: (issuer) => `${prefix}client:${sha256(clientStoreKey(issuer))}`,
  session: (serverUrl) => `${prefix}session:${sha256(sessionStoreKey(serverUrl))}`,
  lock: (name) => `${prefix}lock:${safeLockName(name)}`,
  fence: (name) => `${prefix}fence:${safeLockName(name)}`,
});
