/** Layers for step tests: real HTTP (fetch), an in-memory store, real randomness. */
import { Effect, Either, Layer } from "effect";
import { CredentialStore } from "../src/services/credential-store.js";
import { type HttpPolicy, OAuthHttp } from "../src/services/http.js";
import { Randomness } from "../src/services/randomness.js";
import { UserAgent } from "../src/services/user-agent.js";

export const stepLayer = (
  options: {
    readonly policy?: Partial<HttpPolicy>;
    readonly user?: (url: string) => Promise<string>;
  } = {},
) =>
  Layer.mergeAll(
    OAuthHttp.layerFetch({ allowInsecureLoopback: true, ...options.policy }),
    CredentialStore.layerMemory,
    Randomness.layer,
    UserAgent.fromPromise(async (prompt) => {
      if (!options.user) throw new Error("no user in this test");
      return options.user(prompt.url);
    }),
  );

/** Runs an effect to its typed failure; fails the test if it succeeds or dies. */
export const failureOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.either(effect), (either) =>
    Either.isLeft(either)
      ? Effect.succeed(either.left)
      : Effect.dieMessage("expected a failure, got a success"),
  );

/** JSON body helpers for scripted routes. */
export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

/** Minimal valid RFC 8414 metadata for scripted authorization servers. */
export const asMetadata = (issuer: string) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  registration_endpoint: `${issuer}/register`,
  code_challenge_methods_supported: ["S256"],
  response_types_supported: ["code"],
});

/** The redirect URI every step test registers; nothing listens on it (the user is headless). */
export const redirectUri = "http://127.0.0.1:33418/callback";

/** A public client with that redirect URI. */
export const settings = { clientName: "authchart tests", redirectUris: [redirectUri] as [string] };
