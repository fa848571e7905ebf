/**
 * UserAgent: the browser step (RFC 8252 §5, §7.3). authchart hands it the authorization URL and the
 * redirect URI it registered; it returns the full callback URL the authorization server sent the
 * browser to. Implementations: the system browser with a loopback receiver (@authchart/node), a
 * headless one that reads the redirect without following it (tests, auto-approving servers), or
 * anything an application supplies.
 */
import { Context, Effect, Layer } from "effect";
import { UserAgentFailed } from "../errors.js";

export interface AuthorizationPrompt {
  /** The authorization request; open it as is (only http(s) ever reaches here). */
  readonly url: string;
  /** Where the callback is expected; the callback URL returned must start with it. */
  readonly redirectUri: string;
}

export interface UserAgentService {
  readonly authorize: (prompt: AuthorizationPrompt) => Effect.Effect<string, UserAgentFailed>;
}

export class UserAgent extends Context.Tag("@authchart/core/UserAgent")<
  UserAgent,
  UserAgentService
>() {
  /**
   * From a Promise-returning function; the AbortSignal fires when authchart stops waiting
   * (session closed, request aborted, timeout).
   */
  static readonly fromPromise = (
    authorize: (prompt: AuthorizationPrompt, signal: AbortSignal) => Promise<string>,
  ) =>
    Layer.succeed(UserAgent, {
      authorize: (prompt) =>
        Effect.tryPromise({
          try: (signal) => authorize(prompt, signal),
          catch: (cause) =>
            new UserAgentFailed({
              reason: cause instanceof Error ? cause.message : "the user agent failed",
            }),
        }),
    });
}
