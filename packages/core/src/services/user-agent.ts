/**
 * UserAgent: the browser step (RFC 8252 §5, §7.3). For each authorization authchart first asks
 * it to prepare the redirect endpoint for the registered redirect URI — a loopback receiver binds
 * its port here, an ephemeral one included — and only then builds the authorization request,
 * with the redirect URI as prepared; the user agent opens it and returns the full callback URL
 * the authorization server sent the browser to; the endpoint is closed on every path. The token
 * request later carries the same redirect URI (RFC 6749 §4.1.3).
 *
 * Implementations: the system browser with a loopback receiver (@authchart/node's
 * nodeUserAgent), a headless one that reads the redirect without following it (tests,
 * auto-approving servers), or anything an application supplies — as a plain function when the
 * redirect URI is used as registered, or as an object with `prepare` when it binds first.
 */
import { Context, Effect, Layer, type Scope } from "effect";
import { UserAgentFailed } from "../errors.js";
import { asksForEphemeralPort } from "../protocol/loopback-redirect.js";

export interface AuthorizationPrompt {
  /** The authorization request; open it as is (only http(s) ever reaches here). */
  readonly url: string;
  /** Where the callback is expected; the callback URL returned must start with it. */
  readonly redirectUri: string;
}

/** What a user agent may say about itself. */
export interface UserAgentCapabilities {
  /**
   * There is no browser on this machine (SSH, a container): for the authorization code, the
   * device authorization grant (RFC 8628) is used instead of the browser step when the
   * authorization server offers it. Default false.
   */
  readonly prefersDeviceFlow?: boolean | undefined;
}

/** The browser step as a function: the redirect URI is used exactly as registered. */
export type UserAgentFunction = ((
  prompt: AuthorizationPrompt,
  signal: AbortSignal,
) => Promise<string>) &
  UserAgentCapabilities;

/** A redirect endpoint that is ready before the authorization request exists. */
export interface PreparedRedirect {
  /**
   * The redirect URI to send: the registered one, or — for an ephemeral-port URI on a loopback
   * IP literal (`http://127.0.0.1:0/…`) — the same with the port that was bound.
   */
  readonly redirectUri: string;
  /** Opens the authorization URL; resolves with the callback URL that arrived at `redirectUri`. */
  readonly authorize: (url: string, signal: AbortSignal) => Promise<string>;
  /** Stops listening. Called once the browser step ended, whatever its outcome; idempotent. */
  readonly close: () => Promise<void>;
}

/**
 * A user agent that binds its redirect endpoint first (RFC 8252 §7.3: "clients that obtain an
 * available ephemeral port from the operating system at the time of the request").
 */
export interface BindFirstUserAgent extends UserAgentCapabilities {
  /** Prepares the endpoint for one authorization; the signal fires when authchart gives up. */
  readonly prepare: (redirectUri: string, signal: AbortSignal) => Promise<PreparedRedirect>;
}

/** What `createSession({ userAgent })` takes: a function, or an object that binds first. */
export type UserAgentOption = UserAgentFunction | BindFirstUserAgent;

/** The Effect form of a prepared endpoint; its scope closes it. */
export interface PreparedUserAgent {
  readonly redirectUri: string;
  readonly authorize: (url: string) => Effect.Effect<string, UserAgentFailed>;
}

export interface UserAgentService extends UserAgentCapabilities {
  /** The redirect endpoint for one authorization, open until the scope closes. */
  readonly prepare: (
    redirectUri: string,
  ) => Effect.Effect<PreparedUserAgent, UserAgentFailed, Scope.Scope>;
}

const failed = (cause: unknown) =>
  new UserAgentFailed({
    reason: cause instanceof Error ? cause.message : "the user agent failed",
  });

const isBindFirst = (agent: UserAgentOption): agent is BindFirstUserAgent =>
  typeof (agent as Partial<BindFirstUserAgent>).prepare === "function";

/** A plain function cannot bind a port before the request names it. */
const functionPrepare =
  (authorize: UserAgentFunction) =>
  (redirectUri: string): Effect.Effect<PreparedUserAgent, UserAgentFailed> =>
    asksForEphemeralPort(redirectUri)
      ? Effect.fail(
          new UserAgentFailed({
            reason: `the redirect URI ${redirectUri} asks for an ephemeral port, and this user agent is a plain function that cannot bind one before the request is built: give a user agent with prepare() (nodeUserAgent() is one), or register a fixed port`,
          }),
        )
      : Effect.succeed({
          redirectUri,
          authorize: (url) =>
            Effect.tryPromise({
              try: (signal) => authorize({ url, redirectUri }, signal),
              catch: failed,
            }),
        });

export class UserAgent extends Context.Tag("@authchart/core/UserAgent")<
  UserAgent,
  UserAgentService
>() {
  /**
   * From the Promise form: a function, or an object whose `prepare` binds first (its endpoint is
   * closed when the authorization ends, on every path). The AbortSignals fire when authchart
   * stops waiting (session closed, request aborted, timeout).
   */
  static readonly fromPromise = (agent: UserAgentOption) =>
    Layer.succeed(UserAgent, UserAgent.serviceFromPromise(agent));

  /** The service `fromPromise` provides, for a Context built without a Layer. */
  static readonly serviceFromPromise = (agent: UserAgentOption): UserAgentService => ({
    prefersDeviceFlow: agent.prefersDeviceFlow === true,
    prepare: isBindFirst(agent)
      ? (redirectUri) =>
          Effect.acquireRelease(
            Effect.tryPromise({
              try: (signal) => agent.prepare(redirectUri, signal),
              catch: failed,
            }),
            // A close that fails is the application's to log; the flow's outcome stands.
            (prepared) =>
              Effect.promise(async () => {
                try {
                  await prepared.close();
                } catch {
                  // ignored
                }
              }),
          ).pipe(
            Effect.map(
              (prepared): PreparedUserAgent => ({
                redirectUri: prepared.redirectUri,
                authorize: (url) =>
                  Effect.tryPromise({
                    try: (signal) => prepared.authorize(url, signal),
                    catch: failed,
                  }),
              }),
            ),
          )
      : functionPrepare(agent),
  });
}
