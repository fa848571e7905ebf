/** Helpers for the DPoP tests: an inspectable store, JWT decoding, proof checks by WebCrypto. */
import { KeyValueStore } from "@effect/platform";
import { Effect, Layer, Option } from "effect";
import { CredentialStore, fromKeyValueStore } from "../src/services/credential-store.js";
import { DPoP, type DpopOptions } from "../src/services/dpop.js";

/** A CredentialStore over a Map the test can read: every entry as the store writes it. */
export const recordingStore = () => {
  const entries = new Map<string, string>();
  let writes = 0;
  const kv = KeyValueStore.makeStringOnly({
    get: (key) => Effect.sync(() => Option.fromNullable(entries.get(key))),
    set: (key, value) =>
      Effect.sync(() => {
        writes++;
        entries.set(key, value);
      }),
    remove: (key) => Effect.sync(() => void entries.delete(key)),
    clear: Effect.sync(() => entries.clear()),
    size: Effect.sync(() => entries.size),
  });
  const store = fromKeyValueStore(kv);
  return {
    entries,
    get writes() {
      return writes;
    },
    store,
    layer: Layer.succeed(CredentialStore, store),
    /** The store and a DPoP service over it (a fresh service: a "restart" keeps the store). */
    withDpop: (options: DpopOptions = {}) =>
      Layer.provideMerge(DPoP.layer(options), Layer.succeed(CredentialStore, store)),
  };
};

export const decodeJwt = (jwt: string) => {
  const [header = "", payload = ""] = jwt.split(".");
  const part = (text: string) =>
    JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Record<string, unknown>;
  return { header: part(header), payload: part(payload) };
};

export const sha256Base64Url = async (text: string) =>
  Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))).toString(
    "base64url",
  );

/** RFC 7638 §3: the SHA-256 thumbprint of a public JWK (required members, lexicographic order). */
export const jwkThumbprint = async (jwk: Record<string, unknown>) => {
  const members =
    jwk.kty === "EC"
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === "OKP"
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return sha256Base64Url(JSON.stringify(members));
};

const verifyAlgorithm = (alg: string) => {
  switch (alg) {
    case "ES256":
      return {
        importParams: { name: "ECDSA", namedCurve: "P-256" },
        verifyParams: { name: "ECDSA", hash: "SHA-256" },
      };
    case "Ed25519":
    case "EdDSA":
      return { importParams: { name: "Ed25519" }, verifyParams: { name: "Ed25519" } };
    case "PS256":
      return {
        importParams: { name: "RSA-PSS", hash: "SHA-256" },
        verifyParams: { name: "RSA-PSS", saltLength: 32 },
      };
    case "RS256":
      return {
        importParams: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        verifyParams: { name: "RSASSA-PKCS1-v1_5" },
      };
    default:
      throw new Error(`no verifier for ${alg}`);
  }
};

/** Whether the proof's signature verifies with the public key in its own `jwk` header. */
export const proofSignatureVerifies = async (jwt: string): Promise<boolean> => {
  const { header } = decodeJwt(jwt);
  const { importParams, verifyParams } = verifyAlgorithm(String(header.alg));
  const key = await crypto.subtle.importKey("jwk", header.jwk as JsonWebKey, importParams, false, [
    "verify",
  ]);
  const [h = "", p = "", s = ""] = jwt.split(".");
  return crypto.subtle.verify(
    verifyParams,
    key,
    Buffer.from(s, "base64url"),
    new TextEncoder().encode(`${h}.${p}`),
  );
};

/** The private members of the stored DPoP key of an entry's JSON text (what must never leak). */
export const privateKeyMaterial = (entryJson: string): string[] => {
  const entry = JSON.parse(entryJson) as { privateJwk: Record<string, unknown> };
  return ["d", "p", "q", "dp", "dq", "qi"]
    .map((member) => entry.privateJwk[member])
    .filter((value): value is string => typeof value === "string");
};
