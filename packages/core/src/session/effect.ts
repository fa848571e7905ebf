/**
 * The Effect face of a session: a service whose lifetime is a scope, and an authorized fetch
 * that fails with the typed AuthchartError instead of rejecting.
 */
import { Context, Effect, Layer } from "effect";
import { TransportError } from "../errors.js";
import { type AuthchartError, asAuthchartError } from "../machine/errors.js";
import { describeTransportFailure, displayUrl } from "../services/http.js";
import { createSession, type Session, type SessionOptions } from "./session.js";

export class AuthSession extends Context.Tag("@authchart/core/AuthSession")<
  AuthSession,
  Session
>() {
  /** A session that lives as long as the layer's scope; closing it interrupts everything in flight. */
  static readonly layer = (options: SessionOptions) =>
    Layer.scoped(
      AuthSession,
      Effect.acquireRelease(
        Effect.tryPromise({
          try: () => createSession(options),
          catch: (error) => asAuthchartError("createSession", error),
        }),
        (session) => Effect.promise(() => session.close()),
      ),
    );
}

/** fetch through the session; aborting the fiber aborts the request. */
export const authorizedFetch = (input: string | URL | Request, init?: RequestInit) =>
  Effect.flatMap(AuthSession, (session) =>
    Effect.tryPromise({
      try: (signal) => session.fetch(input, { ...init, signal }),
      catch: (error) => fetchError(input, error),
    }),
  );

/**
 * session.fetch already rejects with typed errors (a TransportError for the network); anything
 * else that is not tagged — the caller's own invalid input — becomes a TransportError too, with a
 * message built from safe parts only (a message may quote a header value).
 */
const fetchError = (input: string | URL | Request, error: unknown): AuthchartError => {
  if (typeof error === "object" && error !== null && "_tag" in error)
    return asAuthchartError("fetch", error);
  const url = input instanceof Request ? input.url : String(input);
  return new TransportError({ url: displayUrl(url), reason: describeTransportFailure(error) });
};

export const authorizeSession = (scopes?: readonly string[]) =>
  Effect.flatMap(AuthSession, (session) =>
    Effect.tryPromise({
      try: () => session.authorize(scopes),
      catch: (error) => asAuthchartError("authorize", error),
    }),
  );
