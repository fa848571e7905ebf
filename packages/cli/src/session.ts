/**
 * The session a command works through: core's createSession over the file store, the file lock
 * (so two `authchart` processes refresh a rotating refresh token once), the system browser or
 * paste mode (@authchart/node's nodeUserAgent), the client `login` chose, the spinner and
 * the decision trace on stderr (`--decisions`), and the recording of `--trace FILE`.
 */
import * as path from "node:path";
import { Writable } from "node:stream";
import {
  type AuthchartError,
  asAuthchartError,
  type ClientSettings,
  createSession,
  type PreRegisteredClient,
  type Session,
  type SessionOptions,
  type TraceEntry,
} from "@authchart/core";
import { makeFileLock, nodeUserAgent } from "@authchart/node";
import { Effect, Option, Redacted } from "effect";
import type { InspectionEvent } from "xstate";
import { NotOAuthProtected, UsageError } from "./errors.js";
import { checkServerUrl } from "./options.js";
import { cyan, dim, line, type OutputService, sanitize } from "./output.js";
import { recordTo, withRecording } from "./recording.js";
import {
  configDirectory,
  DEFAULT_REDIRECT_PORT,
  loadProfile,
  openStore,
  redirectUriFor,
  type ServerProfile,
  type Store,
  serverUrlFor,
} from "./store.js";

export const CLIENT_NAME = "authchart CLI";

/**
 * The client settings for a profile. The client secret is read from the environment variable the
 * user named (never from an argument: arguments show in `ps` and shell history).
 */
export const clientSettings = (
  profile: ServerProfile,
  options: {
    /** Without the secret a missing variable is no error (logout still forgets locally). */
    readonly secretRequired?: boolean | undefined;
    readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  } = {},
): Effect.Effect<ClientSettings, UsageError> =>
  Effect.gen(function* () {
    const env = options.env ?? process.env;
    let clientSecret: Redacted.Redacted<string> | undefined;
    if (profile.clientSecretEnv !== undefined) {
      const value = env[profile.clientSecretEnv];
      if ((value === undefined || value === "") && options.secretRequired !== false)
        return yield* new UsageError({
          reason: `the environment variable ${profile.clientSecretEnv} (named by --client-secret-env) is not set`,
          hint: `export ${profile.clientSecretEnv}=<the client secret> and run the command again`,
        });
      if (value !== undefined && value !== "") clientSecret = Redacted.make(value);
    }
    const preRegistered: PreRegisteredClient[] =
      profile.clientId === undefined
        ? []
        : [
            {
              clientId: profile.clientId,
              issuer: profile.issuer,
              clientSecret,
              tokenEndpointAuthMethod: clientSecret === undefined ? "none" : undefined,
            },
          ];
    return {
      clientName: CLIENT_NAME,
      redirectUris: [redirectUriFor(profile.port)],
      preRegistered,
      clientMetadataUrl: profile.clientMetadataUrl,
    } satisfies ClientSettings;
  });

/** What the spinner says while the lifecycle is in a state (the flow's step first). */
const waitingLabel = (value: string, flowStep: string | undefined): string | undefined => {
  switch (flowStep) {
    case "resourceMetadata":
      return "discovering the server's protected-resource metadata";
    case "authServerMetadata":
      return "discovering the authorization server";
    case "registering":
      return "registering the client";
    case "authorizing":
      return "waiting for the sign-in in the browser";
    case "exchangingCode":
    case "requestingToken":
      return "asking for a token";
  }
  switch (value) {
    case "refreshing":
    case "refreshBackoff":
      return "refreshing the access token";
    case "obtaining":
      return "authorizing";
  }
  return undefined;
};

export const traceLine = (entry: TraceEntry) =>
  line("  · ", cyan(entry.decision.padEnd(20)), " ", sanitize(entry.reason));

export interface OpenSessionOptions {
  readonly serverUrl: string;
  readonly directory: string;
  readonly store: Store;
  readonly profile: ServerProfile;
  /** Paste mode instead of the browser; default: paste mode without a display. */
  readonly headless: boolean | undefined;
  /**
   * False: the session never asks the user (core's `interaction: "never"`); what would need a
   * sign-in ends in InteractionRequired. Default true.
   */
  readonly interactive?: boolean | undefined;
  /** The decision trace on stderr (`--decisions`). */
  readonly trace: boolean;
  /** `--trace FILE`: the session recorded to this file (recording.ts). */
  readonly traceFile?: string | undefined;
  readonly output: OutputService;
  /** Default true; logout goes on without the client secret (it still forgets locally). */
  readonly secretRequired?: boolean | undefined;
  /** xstate's inspection hook (`--inspect`: inspect.ts), given to the session. */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
}

/**
 * Failures of a default endpoint (`/register`, `/token` on the server's origin) that, after a
 * discovery that found no metadata at all, say more about the URL than about the server's health.
 */
const DEFAULT_ENDPOINT_FAILURES: ReadonlySet<string> = new Set([
  "UnexpectedStatus",
  "UnexpectedContentType",
  "MalformedJson",
  "InvalidDocument",
  "UnexpectedRedirect",
  "ResponseTooLarge",
  "RegistrationRejected",
  "TokenEndpointFailed",
]);

/**
 * Watches a session's discovery (its trace): when it found no protected-resource metadata (core's
 * "2025-03-26 fallback") and no authorization server metadata either (the "defaults"), a failure
 * of those default endpoints becomes NotOAuthProtected — the URL most likely is no
 * OAuth-protected MCP server, which "check the network" would not tell the user. Core's fallback
 * itself is unchanged: a 2025-03-26 server without metadata still works.
 */
export const explainDiscovery = (session: Session, serverUrl: string) => {
  let fallback = false;
  let defaults = false;
  const stop = session.onTrace((entry) => {
    if (entry.decision === "2025-03-26 fallback") fallback = true;
    if (entry.details?.metadata === "defaults") defaults = true;
  });
  return {
    stop,
    explain: <E>(error: E): E | NotOAuthProtected => {
      const tag = (error as { readonly _tag?: unknown } | null)?._tag;
      if (!fallback || !defaults || typeof tag !== "string" || !DEFAULT_ENDPOINT_FAILURES.has(tag))
        return error;
      const message = (error as { readonly message?: unknown }).message;
      return new NotOAuthProtected({
        serverUrl,
        challenged: session.state().context.challenge !== undefined,
        reason: typeof message === "string" ? message : tag,
      });
    },
  };
};

/** A stream for the user agent's instructions: the spinner steps aside for each write. */
const stderrAround = (output: OutputService, resume: string | undefined) =>
  new Writable({
    write(chunk, _encoding, done) {
      output.spinner.stop();
      process.stderr.write(chunk, () => {
        if (resume !== undefined) output.spinner.start(resume);
        done();
      });
    },
  });

/**
 * A session for the command, closed when the scope ends; its creation's typed failures
 * (InvalidResourceUri, InsecureUrl, InvalidClientConfiguration) in the error channel.
 */
export const openSession = (options: OpenSessionOptions) =>
  Effect.gen(function* () {
    const client = yield* clientSettings(options.profile, {
      secretRequired: options.secretRequired,
    });
    const { output } = options;
    const headless = options.headless;
    const browser = nodeUserAgent({
      headless,
      output: stderrAround(
        output,
        headless === true ? undefined : "waiting for the sign-in in the browser",
      ),
    });
    const sessionOptions: SessionOptions = {
      serverUrl: options.serverUrl,
      client,
      store: options.store,
      lock: makeFileLock({ directory: path.join(options.directory, "locks") }),
      // Given as it is (not wrapped), so that it can bind its loopback port before the
      // authorization request is made. The spinner stops when it writes its instructions (paste
      // mode reads the terminal) and comes back while a browser is open.
      userAgent: browser,
      interaction: options.interactive === false ? "never" : "allowed",
      onTrace: options.trace ? (entry) => Effect.runSync(output.note(traceLine(entry))) : undefined,
      inspect: options.inspect,
    };
    // Acquired before the session, so released after it: the recording sees the session close.
    const recorder =
      options.traceFile === undefined
        ? undefined
        : yield* recordTo(options.traceFile, options.serverUrl, output);
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => createSession(withRecording(sessionOptions, recorder)),
        catch: (error): AuthchartError => asAuthchartError("createSession", error),
      }),
      (session) => Effect.promise(() => session.close()),
    );
    session.subscribe((state) => {
      const label = waitingLabel(state.value, state.flowStep);
      if (label !== undefined && state.flowStep !== "authorizing") output.spinner.relabel(label);
    });
    /** A failure of the session's work, explained where discovery found no OAuth at all. */
    const { explain } = explainDiscovery(session, options.serverUrl);
    return { session, client, explain };
  });

/** A promise of the session (or the MCP client over it) as an Effect with authchart's typed error. */
export const attempt = <A>(operation: string, run: () => Promise<A>) =>
  Effect.tryPromise({
    try: run,
    catch: (error): AuthchartError => asAuthchartError(operation, error),
  });

export type { Session };
export const noteLine = (text: string) => line(dim(text));

/**
 * The session `call` and `tools` use: the server's saved URL (or the one typed), the client its
 * last login used (else the defaults: dynamic registration on the default port), closed with the
 * scope. Without a saved session the first request authorizes, as any client would.
 */
export const openServerSession = (options: {
  readonly url: string;
  readonly configDir: Option.Option<string>;
  readonly headless: boolean | undefined;
  readonly interactive: boolean;
  readonly trace: boolean;
  readonly traceFile?: string | undefined;
  readonly output: OutputService;
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
}) =>
  Effect.gen(function* () {
    const typed = yield* checkServerUrl(options.url);
    const directory = configDirectory(options.configDir);
    const store = yield* openStore(directory);
    const serverUrl = yield* serverUrlFor(store, typed);
    const profile = Option.getOrElse(yield* loadProfile(directory, serverUrl), () => ({
      port: DEFAULT_REDIRECT_PORT,
    }));
    const { session, client, explain } = yield* openSession({
      serverUrl,
      directory,
      store,
      profile,
      headless: options.headless,
      interactive: options.interactive,
      trace: options.trace,
      traceFile: options.traceFile,
      output: options.output,
      inspect: options.inspect,
    });
    return { session, client, explain, serverUrl, store, directory };
  });
