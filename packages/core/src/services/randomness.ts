/**
 * Randomness for the authorization request: the PKCE code verifier (RFC 7636 §4.1, §7.1: a
 * fresh 256-bit CSPRNG value per request) and `state` (RFC 9700 §4.7: unguessable, single-use). A
 * service so tests can make flows reproducible; the default draws from WebCrypto through
 * oauth4webapi.
 */
import { Context, Effect, Layer } from "effect";
import * as oauth from "oauth4webapi";

export interface RandomnessService {
  readonly codeVerifier: Effect.Effect<string>;
  readonly state: Effect.Effect<string>;
}

export class Randomness extends Context.Tag("@authchart/core/Randomness")<
  Randomness,
  RandomnessService
>() {
  /** The platform's CSPRNG (through oauth4webapi). */
  static readonly live: RandomnessService = {
    codeVerifier: Effect.sync(() => oauth.generateRandomCodeVerifier()),
    state: Effect.sync(() => oauth.generateRandomState()),
  };
  static readonly layer = Layer.succeed(Randomness, Randomness.live);
}
