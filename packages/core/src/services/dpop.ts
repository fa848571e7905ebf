/**
 * DPoP: sender-constrained tokens (RFC 9449). One key pair per token set, made on first use and
 * kept in the CredentialStore beside the tokens it binds; proofs (RFC 9449 §4.2) signed by
 * oauth4webapi; the nonces servers hand out (§8, §9) remembered per server and origin.
 *
 * Decision — where the private key lives. A DPoP-bound refresh token (public clients, RFC 9449
 * §5) is useless without its key, so the key must live as long as the tokens: across restarts and
 * in every replica that shares the store. A non-extractable CryptoKey cannot be written anywhere,
 * so the pair is generated extractable once, its private key exported as a JWK into the store
 * (`DpopKey.privateJwk`, Redacted, beside the tokens — the protection a refresh token gets) and
 * the extractable key dropped; every use imports the stored JWK as a NON-extractable key, so in
 * memory no code path (a dependency's `exportKey` included) can read it back. The alternative —
 * non-extractable keys in memory only — would end every public client's grant at each restart
 * (its refresh token dies with the key) and make a shared store useless for DPoP tokens.
 *
 * The key never leaves this module except as a signature: no error carries it (DpopKeyFailed has
 * fixed reasons), `Redacted` prints `<redacted>` in logs, traces, `toString` and `toJSON`, and a
 * CryptoKey serializes as `{}`.
 */
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect";
import * as oauth from "oauth4webapi";
import { DpopKeyFailed, type StoreFailed } from "../errors.js";
import {
  type DpopAlgorithm,
  type DpopDecision,
  type DpopPolicy,
  dpopAlgorithms,
  dpopDecision,
  dpopNonceOrigin,
  isDpopTokenType,
  readDpopNonce,
} from "../protocol/dpop.js";
import type { DpopKey, PrivateJwk, TokenKey, TokenSet } from "../schema/credentials.js";
import {
  CredentialStore,
  type CredentialStoreService,
  dpopKeyStoreKey,
} from "./credential-store.js";

/** Whose nonce: an authorization server's (RFC 9449 §8) and a resource server's (§9) are apart. */
export type DpopServer = "authorization-server" | "resource-server";

export interface DpopOptions {
  /** Default "auto": DPoP with every authorization server that advertises it (RFC 9449 §5.1). */
  readonly policy?: DpopPolicy | undefined;
  /** The algorithms to sign with, most preferred first. Default {@link dpopAlgorithms}. */
  readonly algorithms?: readonly DpopAlgorithm[] | undefined;
}

export interface DpopProofRequest {
  /** The token set whose key signs (RFC 9449 §5: tokens are bound to the key of their proof). */
  readonly key: TokenKey;
  readonly server: DpopServer;
  /** RFC 9449 §4.2 `htm`. */
  readonly method: string;
  /** RFC 9449 §4.2 `htu` is this URL without query and fragment. */
  readonly url: string;
  /** A resource request's access token: RFC 9449 §4.2 `ath` is its base64url SHA-256. */
  readonly accessToken?: Redacted.Redacted<string> | undefined;
  /** The nonce to carry; default: the one last received from this server's origin. */
  readonly nonce?: string | undefined;
  /** The algorithm of a key made now; a stored key keeps its own. Default: the first preferred. */
  readonly alg?: DpopAlgorithm | undefined;
  /** Make the key when none is stored (token requests); false: DpopKeyFailed (resource requests). */
  readonly create?: boolean | undefined;
}

export interface DpopProof {
  /** The `DPoP` header value: a `dpop+jwt` JWT (RFC 9449 §4.2). Not a secret: one request's. */
  readonly jwt: string;
  /** The nonce it carries, if any. */
  readonly nonce: string | undefined;
}

/** The headers of one request to the protected resource (RFC 9449 §7.1; RFC 6750 §2.1). */
export interface ResourceRequestHeaders {
  /** `DPoP <token>` for a DPoP-bound token set, `Bearer <token>` otherwise. */
  readonly authorization: Redacted.Redacted<string>;
  /** The proof, for a DPoP-bound token set. */
  readonly dpop?: string | undefined;
}

export interface DPoPService {
  readonly policy: DpopPolicy;
  /**
   * RFC 9449 §5.1: whether (and how) token requests to a server listing these algorithms carry
   * proofs, for a resource that may take DPoP-bound tokens only (RFC 9728 §2).
   */
  readonly decide: (
    advertised: readonly string[] | undefined,
    resourceRequiresBinding?: boolean,
  ) => DpopDecision;
  /** A proof for one request, signed with the token set's key (made and stored on first use). */
  readonly proof: (
    request: DpopProofRequest,
  ) => Effect.Effect<DpopProof, DpopKeyFailed | StoreFailed>;
  /**
   * The `Authorization` (and `DPoP`) headers for one request to the protected resource with this
   * token set (RFC 9449 §7.1): for a DPoP token a fresh proof with `ath` and the resource server's
   * nonce for that origin (or `nonce`); a Bearer token set gets its Bearer header only. Never
   * makes a key: a DPoP token set without a stored key is DpopKeyFailed.
   */
  readonly resourceRequestHeaders: (request: {
    readonly tokens: TokenSet;
    readonly method: string;
    readonly url: string;
    readonly nonce?: string | undefined;
  }) => Effect.Effect<ResourceRequestHeaders, DpopKeyFailed | StoreFailed>;
  /** The nonce last received from this server's origin (RFC 9449 §8, §9). */
  readonly nonce: (server: DpopServer, url: string) => Effect.Effect<Option.Option<string>>;
  /**
   * Remember the nonce of a `DPoP-Nonce` response header from this server's origin — any answer,
   * success or error, may carry one (RFC 9449 §8.2). Returns the nonce kept, if the header held one.
   */
  readonly rememberNonce: (
    server: DpopServer,
    url: string,
    dpopNonceHeader: string | null | undefined,
  ) => Effect.Effect<Option.Option<string>>;
  /** RFC 7638 JWK SHA-256 thumbprint of the stored key (RFC 9449 §6.1 `jkt`), if one is stored. */
  readonly thumbprint: (
    key: TokenKey,
  ) => Effect.Effect<Option.Option<string>, DpopKeyFailed | StoreFailed>;
  /** Forget the key of a token set (logout, dropped tokens): in memory and in the store. */
  readonly discardKey: (key: TokenKey) => Effect.Effect<void, StoreFailed>;
}

/**
 * The DPoP service. Optional: steps run without DPoP when no layer provides it, as with policy
 * "off". A session gets one over its own CredentialStore:
 * `Layer.provideMerge(DPoP.layer({ policy }), storeLayer)`.
 */
export class DPoP extends Context.Tag("@authchart/core/DPoP")<DPoP, DPoPService>() {
  static readonly layer = (options: DpopOptions = {}) => Layer.effect(DPoP, make(options));
}

/** The key pair a proof is signed with: the private key non-extractable, the public one not. */
interface LoadedKey {
  readonly alg: DpopAlgorithm;
  readonly pair: CryptoKeyPair;
}

/** Nonces kept at most: one per server origin a session talks to; the oldest goes first. */
const maxNonces = 64;

export const make = (options: DpopOptions = {}) =>
  Effect.map(CredentialStore, (store) => makeOver(store, options));

/** The service over this store, built at once (no Effect to run: a session builds one each). */
export const makeOver = (store: CredentialStoreService, options: DpopOptions = {}): DPoPService => {
  const policy = options.policy ?? "auto";
  const preference = options.algorithms ?? dpopAlgorithms;
  const lock = Effect.unsafeMakeSemaphore(1);
  const keys = new Map<string, LoadedKey>();
  const nonces = new Map<string, string>();
  const nonceId = (server: DpopServer, url: string) => {
    const origin = dpopNonceOrigin(url);
    return origin === undefined ? undefined : `${server} ${origin}`;
  };

  const createKey = (key: TokenKey, alg: DpopAlgorithm) =>
    Effect.gen(function* () {
      const privateJwk = yield* generatePrivateJwk(alg);
      const stored: DpopKey = {
        key,
        alg,
        privateJwk: Redacted.make(privateJwk),
        createdAt: yield* Clock.currentTimeMillis,
      };
      // Stored before any proof is sent: a token bound to the key must never outlive it.
      yield* store.saveDpopKey(stored);
      return stored;
    });

  const keyFor = (key: TokenKey, alg: DpopAlgorithm, create: boolean) =>
    Effect.suspend(() => {
      const id = dpopKeyStoreKey(key);
      const cached = keys.get(id);
      if (cached !== undefined) return Effect.succeed(cached);
      // One at a time: two first requests for one token set make one key, not two.
      return lock.withPermits(1)(
        Effect.gen(function* () {
          const again = keys.get(id);
          if (again !== undefined) return again;
          const stored = yield* store.loadDpopKey(key);
          if (Option.isNone(stored) && !create) {
            return yield* new DpopKeyFailed({
              operation: "import",
              alg,
              reason: "no DPoP key is stored for this token set",
            });
          }
          const entry = Option.isSome(stored) ? stored.value : yield* createKey(key, alg);
          const loaded: LoadedKey = { alg: entry.alg, pair: yield* importKeyPair(entry) };
          keys.set(id, loaded);
          return loaded;
        }),
      );
    });

  const nonce: DPoPService["nonce"] = (server, url) =>
    Effect.sync(() => {
      const id = nonceId(server, url);
      return Option.fromNullable(id === undefined ? undefined : nonces.get(id));
    });

  const proof: DPoPService["proof"] = (request) =>
    Effect.gen(function* () {
      const loaded = yield* keyFor(
        request.key,
        request.alg ?? preference[0] ?? dpopAlgorithms[0],
        request.create ?? true,
      );
      const carried =
        request.nonce ?? Option.getOrUndefined(yield* nonce(request.server, request.url));
      const jwt = yield* signDpopProof(loaded.pair, loaded.alg, {
        method: request.method,
        url: request.url,
        accessToken: request.accessToken,
        nonce: carried,
      });
      return { jwt, nonce: carried };
    });

  const service: DPoPService = {
    policy,
    decide: (advertised, resourceRequiresBinding) =>
      dpopDecision(policy, advertised, preference, resourceRequiresBinding),
    proof,
    resourceRequestHeaders: ({ tokens, method, url, nonce: given }) =>
      Effect.gen(function* () {
        const token = Redacted.value(tokens.accessToken);
        if (!isDpopTokenType(tokens.tokenType)) {
          return { authorization: Redacted.make(`Bearer ${token}`) };
        }
        const signed = yield* proof({
          key: tokens.key,
          server: "resource-server",
          method,
          url,
          accessToken: tokens.accessToken,
          nonce: given,
          create: false,
        });
        return { authorization: Redacted.make(`DPoP ${token}`), dpop: signed.jwt };
      }),
    nonce,
    rememberNonce: (server, url, header) =>
      Effect.sync(() => {
        const value = readDpopNonce(header);
        const id = nonceId(server, url);
        if (value === undefined || id === undefined) return Option.none();
        nonces.delete(id);
        if (nonces.size >= maxNonces) {
          const oldest = nonces.keys().next().value;
          if (oldest !== undefined) nonces.delete(oldest);
        }
        nonces.set(id, value);
        return Option.some(value);
      }),
    thumbprint: (key) =>
      Effect.gen(function* () {
        const id = dpopKeyStoreKey(key);
        if (!keys.has(id) && Option.isNone(yield* store.loadDpopKey(key))) return Option.none();
        const loaded = yield* keyFor(key, preference[0] ?? dpopAlgorithms[0], false);
        return Option.some(yield* dpopThumbprint(loaded.pair, loaded.alg));
      }),
    discardKey: (key) =>
      Effect.suspend(() => {
        keys.delete(dpopKeyStoreKey(key));
        return store.deleteDpopKey(key);
      }),
  };
  return service;
};

// ---------------------------------------------------------------------------------------------
// Keys and proofs (WebCrypto, oauth4webapi)
// ---------------------------------------------------------------------------------------------

/** WebCrypto's import parameters for each proof algorithm (RFC 7518 §3, RFC 8037 §3.1). */
const importAlgorithm = (
  alg: DpopAlgorithm,
): RsaHashedImportParams | EcKeyImportParams | Algorithm => {
  switch (alg) {
    case "ES256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "Ed25519":
    case "EdDSA":
      return { name: "Ed25519" };
    case "PS256":
      return { name: "RSA-PSS", hash: "SHA-256" };
    case "RS256":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  }
};

const privateMembers = ["kty", "crv", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi"] as const;
const publicMembers = ["kty", "crv", "x", "y", "n", "e"] as const;

/** The members of a WebCrypto JWK export that make the private key; undefined if it is not one. */
const toPrivateJwk = (jwk: JsonWebKey): PrivateJwk | undefined => {
  if (jwk.kty !== "EC" && jwk.kty !== "OKP" && jwk.kty !== "RSA") return undefined;
  if (typeof jwk.d !== "string") return undefined;
  const out: Record<string, string> = {};
  for (const member of privateMembers) {
    const value = jwk[member];
    if (typeof value === "string") out[member] = value;
  }
  return out as unknown as PrivateJwk;
};

const pickMembers = (jwk: PrivateJwk, members: readonly (keyof PrivateJwk)[]): JsonWebKey => {
  const out: Record<string, string> = {};
  for (const member of members) {
    const value = jwk[member];
    if (typeof value === "string") out[member] = value;
  }
  return out;
};

/** The public half of a private JWK: only the public members (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2). */
export const publicJwkOf = (jwk: PrivateJwk): JsonWebKey => pickMembers(jwk, publicMembers);

/** A fresh key pair (oauth4webapi `generateKeyPair`, extractable once), as its private JWK. */
const generatePrivateJwk = (alg: DpopAlgorithm) =>
  Effect.tryPromise({
    try: async () => {
      const pair = await oauth.generateKeyPair(alg, { extractable: true });
      return toPrivateJwk(await crypto.subtle.exportKey("jwk", pair.privateKey));
    },
    catch: () =>
      new DpopKeyFailed({
        operation: "generate",
        alg,
        reason: "WebCrypto cannot generate a key for this algorithm here",
      }),
  }).pipe(
    Effect.flatMap((jwk) =>
      jwk === undefined
        ? Effect.fail(
            new DpopKeyFailed({
              operation: "generate",
              alg,
              reason: "WebCrypto exported no private JWK",
            }),
          )
        : Effect.succeed(jwk),
    ),
  );

/** A stored key as a pair: the private key NON-extractable, the public key extractable (its JWK goes in every proof). */
export const importKeyPair = (stored: Pick<DpopKey, "alg" | "privateJwk">) =>
  Effect.tryPromise({
    try: async (): Promise<CryptoKeyPair> => {
      const jwk = Redacted.value(stored.privateJwk);
      const algorithm = importAlgorithm(stored.alg);
      const privateKey = await crypto.subtle.importKey(
        "jwk",
        pickMembers(jwk, privateMembers),
        algorithm,
        false,
        ["sign"],
      );
      const publicKey = await crypto.subtle.importKey("jwk", publicJwkOf(jwk), algorithm, true, [
        "verify",
      ]);
      return { privateKey, publicKey };
    },
    catch: () =>
      new DpopKeyFailed({
        operation: "import",
        alg: stored.alg,
        reason: "the stored key does not import as a key for this algorithm",
      }),
  });

/**
 * The view of oauth4webapi's DPoPHandle that signs: `addProof(url, headers, htm, accessToken?)`,
 * the method its own request functions call. It computes `htu` (origin and path: no query, no
 * fragment — RFC 9449 §4.2), `iat`, a random `jti`, `ath` (base64url SHA-256 of the access token)
 * and the `typ: dpop+jwt` header with the public `jwk`, then signs. It is not in the published
 * typings (only `calculateThumbprint` is), so it is reached through this one narrow view, checked
 * at runtime and pinned by the proof-content tests (test/services/dpop.test.ts). The nonce goes in
 * through the public `modifyAssertion` hook: the handle's own nonce cache is keyed by origin alone
 * and could not keep an authorization server's and a resource server's nonces apart on one origin.
 */
interface ProofSigner {
  readonly addProof: (
    url: URL,
    headers: Headers,
    htm: string,
    accessToken?: string,
  ) => Promise<void>;
}

const hasProofSigner = (handle: unknown): handle is ProofSigner =>
  typeof (handle as { addProof?: unknown } | null)?.addProof === "function";

/** The methods fetch normalizes to upper case (Fetch standard, "normalize a method"). */
const normalizedMethods = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const normalizeMethod = (method: string): string => {
  const upper = method.toUpperCase();
  return normalizedMethods.has(upper) ? upper : method;
};

const signFailed = (alg: string, reason: string) =>
  new DpopKeyFailed({ operation: "sign", alg, reason });

/**
 * A DPoP proof JWT (RFC 9449 §4.2) for one request: `typ: dpop+jwt`, `alg`, the public `jwk`;
 * `jti`, `htm`, `htu` (no query or fragment), `iat`, `ath` when an access token is given, `nonce`
 * when one is. Signed by oauth4webapi with the given pair.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2
 */
export const signDpopProof = (
  pair: CryptoKeyPair,
  alg: DpopAlgorithm,
  request: {
    readonly method: string;
    readonly url: string;
    readonly accessToken?: Redacted.Redacted<string> | undefined;
    readonly nonce?: string | undefined;
  },
): Effect.Effect<string, DpopKeyFailed> =>
  Effect.gen(function* () {
    const url = yield* Effect.try({
      try: () => new URL(request.url),
      catch: () => signFailed(alg, "the request URL is not an absolute URL"),
    });
    const handle = oauth.DPoP({}, pair, {
      [oauth.modifyAssertion]: (header, payload) => {
        // The same Ed25519 signature, under the name older servers list (RFC 8037 §3.1).
        if (alg === "EdDSA") header.alg = "EdDSA";
        if (request.nonce !== undefined) payload.nonce = request.nonce;
      },
    });
    if (!hasProofSigner(handle)) {
      return yield* signFailed(alg, "this oauth4webapi version has no DPoP proof signer");
    }
    const headers = new Headers();
    yield* Effect.tryPromise({
      try: () =>
        handle.addProof(
          url,
          headers,
          normalizeMethod(request.method),
          request.accessToken === undefined ? undefined : Redacted.value(request.accessToken),
        ),
      catch: () => signFailed(alg, "WebCrypto refused to sign with the key"),
    });
    const jwt = headers.get("dpop");
    return jwt === null ? yield* signFailed(alg, "no proof was produced") : jwt;
  });

/** RFC 7638 SHA-256 thumbprint of the pair's public key (RFC 9449 §6.1 `jkt`), by oauth4webapi. */
export const dpopThumbprint = (pair: CryptoKeyPair, alg: DpopAlgorithm) =>
  Effect.tryPromise({
    try: () => oauth.DPoP({}, pair).calculateThumbprint(),
    catch: () =>
      new DpopKeyFailed({ operation: "thumbprint", alg, reason: "the public key does not export" }),
  });
