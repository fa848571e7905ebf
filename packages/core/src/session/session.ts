/**
 * The face users hold: one session per protected MCP server — one machine, one authorized
 * `fetch` shared by every caller, so concurrent 401s and 403s coalesce into one refresh or one
 * authorization (DESIGN "the request loop").
 */
import {
  Cause,
  Context,
  Effect,
  Exit,
  type Layer,
  ManagedRuntime,
  Option,
  Redacted,
  Runtime,
  Schema,
} from "effect";
import { type Actor, createActor, type InspectionEvent, type SnapshotFrom } from "xstate";
import {
  type ClientSettings,
  findPreRegistered,
  grantConfigurationProblem,
  redirectUriProblem,
  withDefaultRedirectUris,
} from "../client-settings.js";
import {
  DpopKeyFailed,
  describeDefect,
  InvalidChallenge,
  InvalidClientConfiguration,
  InvalidResourceUri,
  TransportError,
} from "../errors.js";
import type { authMachine } from "../machine/auth-machine.js";
import { refreshAheadAt } from "../machine/decisions.js";
import {
  type AuthchartError,
  AuthorizationLoop,
  asAuthchartError,
  FlowCancelled,
  ScopeDeclined,
  StepDefect,
} from "../machine/errors.js";
import {
  type AuthConfig,
  type AuthContext,
  type AuthServerInfo,
  type ChallengeInfo,
  defaultAuthConfig,
  type InteractionPolicy,
  type RestoredSession,
  type TokenInfo,
  type TraceEntry,
} from "../machine/model.js";
import {
  PersistedSession,
  persistsNothing,
  samePersistedParts,
  toPersisted,
  toRestored,
} from "../machine/persistence.js";
import { bindSteps, sharedAuthMachine } from "../machine/shared-machine.js";
import {
  makeStepActors,
  type StepRuntime,
  type StepServices,
  toTokenInfo,
} from "../machine/step-actors.js";
import { type DpopPolicy, isDpopTokenType, readResourceNonceChallenge } from "../protocol/dpop.js";
import { asksForEphemeralPort } from "../protocol/loopback-redirect.js";
import {
  canonicalResourceUri,
  isLocalNetworkHost,
  isLoopbackHost,
} from "../protocol/resource-uri.js";
import { missingScopes } from "../protocol/scopes.js";
import { readResourceChallenge } from "../protocol/www-authenticate.js";
import type { TokenKey, TokenSet } from "../schema/credentials.js";
import { wireLimits } from "../schema/wire.js";
import {
  CredentialStore,
  type CredentialStoreService,
  tokenStoreKey,
} from "../services/credential-store.js";
import { DeviceCodePresenter, type DeviceCodePrompt } from "../services/device-code-presenter.js";
import { DPoP, makeOver as makeDpopOver } from "../services/dpop.js";
import {
  checkTransportSecurity,
  defaultUserAgent,
  describeTransportFailure,
  displayUrl,
  type HttpPolicy,
  OAuthHttp,
} from "../services/http.js";
import { Randomness } from "../services/randomness.js";
import { SessionLock, type SessionLockService } from "../services/session-lock.js";
import { UserAgent, type UserAgentOption } from "../services/user-agent.js";
import { discoverAuthServer } from "../steps/discover-auth-server.js";
import type { ResourceMatchPolicy } from "../steps/discover-resource.js";
import { resolveClient } from "../steps/register.js";
import { revokeTokens } from "../steps/revoke.js";
import {
  copyHeaders,
  hasOrigin,
  headersForRedirect,
  headerValue,
  type Outgoing,
  readOutgoing,
  urlOf,
  wireHeaders,
} from "./outgoing.js";
import { sharedScheduler } from "./scheduler.js";

export interface SessionOptions {
  /** The MCP server URL, e.g. https://mcp.example.com/mcp. */
  readonly serverUrl: string;
  readonly client: ClientSettings;
  /**
   * The browser step: a function `(prompt, signal) => callbackUrl`, which gets the redirect URI
   * as registered; or an object whose `prepare(redirectUri, signal)` binds the redirect endpoint
   * before the authorization request is built — required for an ephemeral port
   * (`http://127.0.0.1:0/callback`, RFC 8252 §7.3). @authchart/node's nodeUserAgent() is both;
   * headlessUserAgent() is a function.
   */
  readonly userAgent?: UserAgentOption | undefined;
  /**
   * May the session start a flow that needs the user (a browser step, a device user code)?
   * "allowed" (default) for an interactive application; "never" for a background session (a
   * daemon, a reconnect): a token held or refreshable keeps serving, and when only the user can
   * help, the request fails at once with InteractionRequired — the resource, the authorization
   * server and the scopes that need consent — instead of opening a browser. Before it fails it
   * looks in the store: a token the user obtained elsewhere over the same store (an interactive
   * session, `authchart login`) with the scopes the request needs is used, so a later request of
   * the same session succeeds once the user has logged in.
   */
  readonly interaction?: InteractionPolicy | undefined;
  /** Where tokens, clients and the session's state persist. Default: memory, for this process. */
  readonly store?: CredentialStoreService | undefined;
  /**
   * The lock taken around a refresh and a dynamic registration, so that the processes sharing
   * `store` refresh a rotating refresh token once (see @authchart/node's file lock). Default: a
   * lock within this process. With `layer`, provide SessionLock in the layer instead.
   */
  readonly lock?: SessionLockService | undefined;
  /**
   * Shows the user code and verification URI of the device authorization grant (RFC 8628 §3.3).
   * Default: printed to stderr.
   */
  readonly deviceCodePresenter?: ((prompt: DeviceCodePrompt) => Promise<void>) | undefined;
  /**
   * DPoP (RFC 9449): "auto" (default) binds tokens when the authorization server lists
   * `dpop_signing_alg_values_supported`, or when the resource takes DPoP-bound tokens only (its
   * metadata's `dpop_bound_access_tokens_required`, RFC 9728 §2); "required" fails when it cannot;
   * "off" never proves (and stops with DpopRequiredByResource at such a resource).
   */
  readonly dpop?: DpopPolicy | undefined;
  /** Replace the step services wholesale (Effect users): HTTP, store, user agent, randomness. */
  readonly layer?: Layer.Layer<StepServices> | undefined;
  readonly http?: Partial<HttpPolicy> | undefined;
  readonly config?: Partial<AuthConfig> | undefined;
  readonly resourcePolicy?: ResourceMatchPolicy | undefined;
  /**
   * Transport for every request the session makes: the protected requests and the OAuth requests
   * (discovery, registration, tokens). Default: globalThis.fetch. It is called with a URL string
   * and a RequestInit with `redirect: "manual"` (the session follows redirects itself) whose
   * `headers` is a plain record with lower-case names — read it as any HeadersInit, e.g.
   * `new Headers(init.headers)`.
   */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /**
   * xstate's inspection hook (e.g. @statelyai/inspect). The context holds no secret, but give the
   * inspector `sanitizeContext` / `sanitizeEvent` (or `redact`) from this package all the same.
   * A hook that throws is isolated from the session.
   */
  readonly inspect?: ((event: InspectionEvent) => void) | undefined;
  /** Decision-trace listener attached before the machine starts (so it sees "restored" too). */
  readonly onTrace?: ((entry: TraceEntry) => void) | undefined;
  /** How long discovered metadata is trusted, in this process and across processes. Default: one hour. */
  readonly metadataTtlMillis?: number | undefined;
}

/** What a logout did at the authorization server. */
export interface LogoutReport {
  /** Tokens the authorization server confirmed revoked. */
  readonly revoked: number;
  /** Revocations that failed (the local copies were deleted all the same). */
  readonly failures: readonly AuthchartError[];
}

export interface SessionState {
  /** The lifecycle's state: unauthorized, obtaining, authorized, refreshing, refreshBackoff, failed. */
  readonly value: string;
  /** While `obtaining`: the running flow's step (resourceMetadata, authorizing, …). */
  readonly flowStep?: string | undefined;
  readonly token?: TokenInfo | undefined;
  readonly error?: AuthchartError | undefined;
  readonly context: AuthContext;
}

export interface Session {
  /** fetch with authorization: the bearer token on the protected origin only; challenges handled. */
  readonly fetch: typeof globalThis.fetch;
  /** Authorize ahead of time (optionally for more scopes); resolves when authorized. */
  readonly authorize: (scopes?: readonly string[]) => Promise<void>;
  /**
   * Stop the interactive flow in progress (the browser step). Aborting a request only detaches
   * that request: the flow runs on until it completes, times out, is cancelled or the session
   * closes, and the next request uses its result.
   */
  readonly cancel: () => void;
  /**
   * Revoke the tokens at the authorization server (RFC 7009, when it advertises revocation), then
   * forget them and the session's state (the client registration stays). A failed revocation is
   * reported, and the local copies are deleted all the same.
   */
  readonly logout: () => Promise<LogoutReport>;
  /** Stop everything in flight. Timers never keep the process alive, closed or not. */
  readonly close: () => Promise<void>;
  readonly state: () => SessionState;
  readonly subscribe: (listener: (state: SessionState) => void) => () => void;
  readonly onTrace: (listener: (entry: TraceEntry) => void) => () => void;
  /** The current actor (replaced by a fresh one if the statechart ever fails). */
  readonly actor: Actor<typeof authMachine>;
}

/** The store key of the token the machine knows about: resource, issuer and client (RFC 8707 §2). */
const tokenKeyOf = (token: TokenInfo): TokenKey => ({
  resource: token.resource,
  issuer: token.issuer,
  clientId: token.clientId,
});

const stateName = (value: unknown) =>
  typeof value === "string" ? value : (Object.keys(value as object)[0] ?? "unknown");

type AuthSnapshot = SnapshotFrom<typeof authMachine>;

/**
 * The current token serves requests: in `authorized`, and during a refresh ahead of expiry (the
 * token is still valid; nothing waits for the refresh).
 */
const servesRequests = (snapshot: AuthSnapshot): boolean => {
  if (snapshot.hasTag("serving")) return true;
  const token = snapshot.context.token;
  return (
    snapshot.hasTag("refreshing") &&
    snapshot.context.refreshReason === "proactive" &&
    token !== undefined &&
    (token.expiresAt === undefined || token.expiresAt > Date.now())
  );
};

/** Calls every listener; one that throws is the host's bug and must not break the session. */
const notify = <T>(listeners: ReadonlySet<(value: T) => void>, value: T) => {
  for (const listener of listeners) {
    try {
      listener(value);
    } catch {
      // isolated: the session's own state does not depend on what a listener does
    }
  }
};

/** The typed failure a request gets when the statechart itself failed (a defect, not a step). */
const statechartDefect = (error: unknown) =>
  new StepDefect({ step: "statechart", reason: describeDefect(error) });

/** A failed Effect's typed error as itself; a defect as a StepDefect of `step`. */
const failureOf = (cause: Cause.Cause<unknown>, step: string): unknown =>
  Option.getOrElse(
    Cause.failureOption(cause),
    () =>
      new StepDefect({
        step,
        reason: describeDefect(Option.getOrUndefined(Cause.dieOption(cause))),
      }),
  );

const decodeRecord = Schema.decodeUnknownOption(Schema.parseJson(PersistedSession));
const encodeRecord = Schema.encodeSync(PersistedSession);
/**
 * Records decoded lately, by their text: the sessions a process opens over one store share one
 * decoded record (and its metadata) instead of decoding and holding a copy each. Decoded values
 * are never mutated (the machine's context is replaced, not changed), so sharing them is safe.
 */
const decodedRecords = new Map<string, Option.Option<PersistedSession>>();
const readRecord = (text: string): Option.Option<PersistedSession> => {
  const known = decodedRecords.get(text);
  if (known !== undefined) return known;
  const decoded = decodeRecord(text);
  if (decodedRecords.size >= 64) {
    const oldest = decodedRecords.keys().next();
    if (oldest.done !== true) decodedRecords.delete(oldest.value);
  }
  decodedRecords.set(text, decoded);
  return decoded;
};
/** What tells two records apart, their time of saving aside (from the encoded record). */
const keyOfEncoded = (encoded: typeof PersistedSession.Encoded) =>
  JSON.stringify({ ...encoded, savedAt: 0 });
const recordKey = (record: PersistedSession) => keyOfEncoded(encodeRecord(record));
/** "Saved" for a session that has learned nothing yet: no record's key (a key is a JSON object). */
const nothingLearned = "(nothing learned)";
/** The keys of records restored lately: the sessions sharing a decoded record share its key too. */
const restoredKeys = new WeakMap<PersistedSession, string>();
const restoredKey = (record: PersistedSession) => {
  let key = restoredKeys.get(record);
  if (key === undefined) {
    key = recordKey(record);
    restoredKeys.set(record, key);
  }
  return key;
};

/** What a replacement actor starts from: the last quiet context (metadata, client, token). */
const restoredFrom = (context: AuthContext | undefined): RestoredSession | undefined =>
  context && {
    resource: context.resource,
    authServer: context.authServer,
    client: context.client,
    token: context.token,
  };

export const createSession = async (given: SessionOptions): Promise<Session> => {
  const options = { ...given, client: withDefaultRedirectUris(given.client) };
  // The server URL must be usable as a resource identifier and reached over https (loopback
  // excepted; MCP "Communication Security"): the bearer token is never sent in plaintext.
  // The configured grant must be able to run at all: a missing credential is an error now, not
  // in the middle of a flow.
  const grantProblem =
    grantConfigurationProblem(options.client) ?? redirectUriProblem(options.client);
  if (grantProblem !== undefined) throw new InvalidClientConfiguration({ reason: grantProblem });
  // A plain function gets the redirect URI the request was built with: it cannot bind a port
  // first, so an ephemeral one needs a user agent with prepare() (RFC 8252 §7.3).
  if (
    typeof options.userAgent === "function" &&
    !("prepare" in options.userAgent) &&
    asksForEphemeralPort(options.client.redirectUris?.[0] ?? "")
  )
    throw new InvalidClientConfiguration({
      reason:
        given.client.redirectUris === undefined
          ? "no client.redirectUris is configured, and the user agent is a plain function that cannot bind a port before the request is built: give client.redirectUris (the redirect URI your user agent serves), or a userAgent with prepare() (nodeUserAgent() is one)"
          : `the redirect URI ${options.client.redirectUris?.[0]} asks for an ephemeral port, which the user agent must bind before the request is built: give a userAgent with prepare() (nodeUserAgent() is one), or register a fixed port`,
    });
  const canonical = canonicalResourceUri(options.serverUrl);
  if (!canonical.ok)
    throw new InvalidResourceUri({ input: options.serverUrl, reason: canonical.reason });
  const insecure = checkTransportSecurity(options.serverUrl, {
    allowInsecureLoopback: true,
    allowPrivateNetwork: true,
  });
  if (insecure) throw insecure;
  const serverUrl = new URL(options.serverUrl);
  // Plain http to loopback only for a local MCP server (development), and loopback or private
  // addresses only when the MCP server is itself on one: a remote server cannot make the client
  // talk http to this machine, nor point it at this machine's network (RFC 9728 §7.7).
  const http = {
    ...options.http,
    allowInsecureLoopback:
      options.http?.allowInsecureLoopback ?? isLoopbackHost(serverUrl.hostname),
    allowPrivateNetwork:
      options.http?.allowPrivateNetwork ?? isLocalNetworkHost(serverUrl.hostname),
  };
  const baseFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const userAgent = options.http?.userAgent || defaultUserAgent;
  // The store is the one service a warm session needs before any flow: built now (a memory
  // store unless one is given) and used directly; the rest of the step services — HTTP, DPoP,
  // the lock, the user agent — are built the first time a step or a DPoP proof needs them.
  const ownStore: CredentialStoreService | undefined = options.layer
    ? undefined
    : (options.store ?? CredentialStore.memory());
  /**
   * The step services as one Context, built directly from their values: building the same
   * services as Layers into a ManagedRuntime cost ~1 ms per session (measured), more than all
   * the work of a discovery step. An application's own layer is built as a Layer.
   */
  const buildContext = (store: CredentialStoreService) => {
    // DPoP (RFC 9449) when the authorization server offers it, unless the application says
    // otherwise: its keys live in the store with the tokens they bind.
    // One Map, not a copy per Context.add; each entry typed by its tag.
    const entry = <I, S>(tag: Context.Tag<I, S>, service: NoInfer<S>) =>
      [tag.key, service] as const;
    const services = [
      entry(OAuthHttp, OAuthHttp.overFetch(http, options.fetch)),
      entry(CredentialStore, store),
      entry(DPoP, makeDpopOver(store, { policy: options.dpop ?? "auto" })),
      entry(Randomness, Randomness.live),
      entry(SessionLock, options.lock ?? SessionLock.inProcess),
      entry(
        UserAgent,
        UserAgent.serviceFromPromise(
          options.userAgent ??
            (async () => {
              throw new Error("no userAgent configured for this session");
            }),
        ),
      ),
      entry(
        DeviceCodePresenter,
        options.deviceCodePresenter
          ? DeviceCodePresenter.serviceFromPromise(options.deviceCodePresenter)
          : DeviceCodePresenter.stderr,
      ),
    ];
    return Context.unsafeMake<StepServices>(new Map<string, unknown>(services));
  };
  let runtimeBuilt: StepRuntime | undefined;
  /** The application's layer, when it gave one: its runtime is disposed with the session. */
  let managed: ManagedRuntime.ManagedRuntime<StepServices, never> | undefined;
  const runtime = (): StepRuntime => {
    if (runtimeBuilt !== undefined) return runtimeBuilt;
    if (options.layer !== undefined) {
      managed = ManagedRuntime.make(options.layer);
      runtimeBuilt = managed;
    } else {
      // A Runtime over the session's Context, built once: providing the Context to each step's
      // Effect instead cost ~10 µs more per run (measured), several times on every connect.
      const run = Runtime.runPromiseExit(
        Runtime.make({
          context: buildContext(ownStore as CredentialStoreService),
          runtimeFlags: Runtime.defaultRuntime.runtimeFlags,
          fiberRefs: Runtime.defaultRuntime.fiberRefs,
        }),
      );
      runtimeBuilt = {
        runPromiseExit: (effect, runOptions) =>
          run(effect, runOptions?.signal === undefined ? undefined : { signal: runOptions.signal }),
      };
    }
    return runtimeBuilt;
  };
  /** Runs an Effect of the session's services; its typed failure is thrown as itself. */
  const runTyped = async <A, E>(effect: Effect.Effect<A, E, StepServices>, step: string) => {
    const exit = await runtime().runPromiseExit(effect);
    if (Exit.isSuccess(exit)) return exit.value;
    throw failureOf(exit.cause, step);
  };
  /** Runs a store operation; its typed failure (StoreFailed) is thrown as itself. */
  const withStore = async <A, E>(f: (store: CredentialStoreService) => Effect.Effect<A, E>) => {
    if (ownStore === undefined) return runTyped(Effect.flatMap(CredentialStore, f), "store");
    const exit = await Effect.runPromiseExit(f(ownStore));
    if (Exit.isSuccess(exit)) return exit.value;
    throw failureOf(exit.cause, "store");
  };

  const restored = Option.getOrUndefined(
    Option.flatMap(await withStore((store) => store.loadSession(options.serverUrl)), readRecord),
  );
  const protectedOrigin = serverUrl.origin;
  const restoredState =
    restored && restored.serverUrl === options.serverUrl
      ? toRestored(restored, Date.now(), options.metadataTtlMillis ?? 3_600_000)
      : undefined;
  const grant = options.client.grant?.type ?? "authorization_code";
  const withUser = grant === "authorization_code" || grant === "device_code";
  // A user agent without a browser here (headless) takes the device grant where it is offered.
  const prefersDeviceFlow =
    options.layer === undefined
      ? options.userAgent?.prefersDeviceFlow === true
      : await runTyped(
          Effect.map(Effect.serviceOption(UserAgent), (agent) =>
            Option.isSome(agent) ? agent.value.prefersDeviceFlow === true : false,
          ),
          "user agent",
        );
  const config = {
    grant,
    preferDeviceFlow: prefersDeviceFlow,
    interaction: options.interaction ?? "allowed",
    configuredScopes: options.client.scopes ?? [],
    // A grant without a user has no refresh token to ask for (RFC 6749 §4.4.3).
    offlineAccess: withUser && (options.client.offlineAccess ?? true),
    ...options.config,
  };

  // ------------------------------------------------------------------ the supervised actor
  let closed = false;
  const stateListeners = new Set<(state: SessionState) => void>();
  const traceListeners = new Set<(entry: TraceEntry) => void>();
  if (options.onTrace) traceListeners.add(options.onTrace);
  const userInspect = options.inspect;
  const inspect = userInspect
    ? (event: InspectionEvent) => {
        try {
          userInspect(event);
        } catch {
          // an inspector that throws must not fail the transition it watches
        }
      }
    : undefined;

  // Persist at quiet states only, each distinct record once, writes in order; the record the
  // session was restored from counts as written (a process start writes nothing new).
  // (Its key is computed when the statechart first reaches a quiet state: a lean session never does.)
  let lastSaved: string | undefined;
  let saving: Promise<unknown> = Promise.resolve();
  /** The last context at a quiet state: what a replacement actor starts from. */
  let lastQuiet: AuthContext | undefined;
  /** Every token key this session held, by its store key: logout deletes them all. */
  const heldTokens = new Map<string, TokenKey>();
  /** The token version the resource last accepted (token.accepted is sent once per version). */
  let acceptedVersion: number | undefined;
  /** The token version the resource last answered with a success. */
  let provenVersion: number | undefined;

  /** The token last added to heldTokens: a snapshot with the same one adds nothing. */
  let lastHeld: TokenInfo | undefined;
  const onSnapshot = (snapshot: AuthSnapshot) => {
    const token = snapshot.context.token;
    if (token !== undefined && token !== lastHeld) {
      lastHeld = token;
      heldTokens.set(tokenStoreKey(tokenKeyOf(token)), tokenKeyOf(token));
    }
    // What is persisted changes only when one of its parts does (xstate keeps unassigned
    // context values): most snapshots at a quiet state — each request's events — persist nothing.
    const context = snapshot.context;
    if (
      snapshot.hasTag("quiet") &&
      (lastQuiet === undefined || !samePersistedParts(context, lastQuiet))
    ) {
      lastQuiet = context;
      // A session that starts with nothing stored has nothing to save until it learns something:
      // a record of its server URL alone is what "nothing stored" already says (and knowing that
      // needs no encoding: every cold session starts here).
      lastSaved ??= restored ? restoredKey(restored) : nothingLearned;
      if (lastSaved !== nothingLearned || !persistsNothing(context)) {
        const encoded = encodeRecord(toPersisted(context, Date.now()));
        const key = keyOfEncoded(encoded);
        if (key !== lastSaved) {
          lastSaved = key;
          const json = JSON.stringify(encoded);
          saving = saving
            .then(() => withStore((store) => store.saveSession(options.serverUrl, json)))
            .catch(() => undefined);
        }
      }
    }
    if (stateListeners.size > 0) notify(stateListeners, state());
  };

  /**
   * The actor, started the first time something needs the statechart: a challenge, an expired or
   * due token, authorize/logout, or someone watching (state, subscribe, onTrace, inspect). Until
   * then a restored token serves requests from the session's own fields — a warm, idle session
   * holds no actor, no runtime and no timer.
   */
  let current: Actor<typeof authMachine> | undefined;
  /** The token a session without its actor serves: the restored one, or one adopted from the store. */
  let leanToken: TokenInfo | undefined = restoredState?.token;
  const startActor = (from: RestoredSession | undefined): Actor<typeof authMachine> => {
    // The process's one machine definition; this session's steps are bound to the actor's system.
    const next = createActor(sharedAuthMachine, {
      input: { serverUrl: options.serverUrl, config, restored: from },
      clock: sharedScheduler,
      ...(inspect ? { inspect } : {}),
    });
    bindSteps(
      next.system,
      makeStepActors(runtime(), {
        settings: options.client,
        resourcePolicy: options.resourcePolicy,
        boundIssuer: from?.client?.kind === "pre-registered" ? from.client.issuer : undefined,
      }),
    );
    // With an error observer, xstate reports an actor's failure here instead of rethrowing it
    // from a timer (which ends a Node process): every waiter gets a StepDefect (their own error
    // observers), and the session goes on with a fresh actor from the last quiet context.
    next.subscribe({
      next: onSnapshot,
      error: (error) => {
        if (closed || current !== next) return;
        acceptedVersion = undefined;
        provenVersion = undefined;
        notify(traceListeners, {
          type: "trace",
          decision: "recovered",
          reason: `${statechartDefect(error).message}; the session starts again from its last quiet state`,
        });
        current = startActor(restoredFrom(lastQuiet));
      },
    });
    next.on("trace", (entry) => notify(traceListeners, entry));
    current = next;
    // A closed session's actor is never started: it answers nothing and arms nothing.
    if (!closed) next.start();
    return next;
  };
  const hydrate = (): Actor<typeof authMachine> => {
    if (current !== undefined) return current;
    const next = startActor(restoredState && { ...restoredState, token: leanToken });
    // What the resource already said about the restored token, told to the machine now.
    const token = next.getSnapshot().context.token;
    if (token !== undefined && acceptedVersion === token.version)
      next.send({
        type: "token.accepted",
        tokenVersion: token.version,
        proven: provenVersion === token.version,
      });
    return next;
  };
  if (options.inspect !== undefined || options.onTrace !== undefined) hydrate();

  function state(): SessionState {
    const snapshot = hydrate().getSnapshot();
    const flow = snapshot.children.flow?.getSnapshot();
    return {
      value: stateName(snapshot.value),
      flowStep: flow && "value" in flow ? stateName(flow.value) : undefined,
      token: snapshot.context.token,
      error: snapshot.context.error,
      context: snapshot.context,
    };
  }

  // ------------------------------------------------------------------ waiting on the machine
  /** Requests whose challenge the machine has not answered yet; close() releases them. */
  const unanswered = new Set<() => void>();

  /**
   * Resolves when the lifecycle next settles with the token (the `settled` event); rejects with
   * the typed error of the flow that ended otherwise. Attach it before sending the event that may
   * settle at once. An abort detaches this waiter only: the flow it waited on runs on (the user
   * may still be at the consent page) until it completes, times out, or the application cancels
   * it.
   */
  const waitSettled = (signal: AbortSignal | undefined) =>
    new Promise<void>((resolve, reject) => {
      const target = hydrate();
      const settle = (outcome: () => void) => {
        settled.unsubscribe();
        subscription.unsubscribe();
        unanswered.delete(cancel);
        signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      const cancel = () =>
        settle(() => reject(new FlowCancelled({ reason: "the session was closed" })));
      const settled = target.on("settled", (event) =>
        settle(() =>
          event.outcome === "authorized"
            ? resolve()
            : reject(event.error ?? new FlowCancelled({ reason: "the flow stopped" })),
        ),
      );
      const subscription = target.subscribe({
        complete: cancel,
        error: (error) => settle(() => reject(statechartDefect(error))),
      });
      const onAbort = () => settle(() => reject(signal?.reason));
      unanswered.add(cancel);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (signal?.aborted) onAbort();
      else if (closed || target.getSnapshot().status === "stopped") cancel();
    });

  /** Tells the machine what a request saw; resolves when the request should be sent again. */
  const ask = (
    event:
      | {
          readonly type: "challenge.received";
          readonly challenge: ChallengeInfo;
          readonly tokenVersion?: number | undefined;
        }
      | { readonly type: "token.expired"; readonly tokenVersion: number },
    signal: AbortSignal | undefined,
  ) =>
    new Promise<void>((resolve, reject) => {
      // A closed session has no actor to answer (a lean one never started it, and close() has
      // already released every waiter): a request whose answer came back after close() ends here.
      if (closed) {
        reject(new FlowCancelled({ reason: "the session was closed" }));
        return;
      }
      const target = hydrate();
      const requestId = crypto.randomUUID();
      const detach = () => {
        unanswered.delete(cancel);
        answered.unsubscribe();
        failed.unsubscribe();
        signal?.removeEventListener("abort", onAbort);
      };
      const cancel = () => {
        detach();
        reject(new FlowCancelled({ reason: "the session was closed" }));
      };
      unanswered.add(cancel);
      const answered = target.on("challenge.answered", (answer) => {
        if (answer.requestId !== requestId) return;
        detach();
        if (answer.outcome === "retry") resolve();
        else if (answer.outcome === "refused") reject(answer.error);
        else waitSettled(signal).then(resolve, reject);
      });
      const failed = target.subscribe({
        error: (error) => {
          detach();
          reject(statechartDefect(error));
        },
      });
      const onAbort = () => {
        detach();
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // Every state answers these events, at once or (sent from inside a listener) once the
      // actor's queue reaches it; only a stopped actor never answers.
      target.send({ ...event, requestId });
      if (target.getSnapshot().status === "stopped" && unanswered.has(cancel)) cancel();
    });

  // ------------------------------------------------------------------ tokens
  /**
   * The token set last read from the store for the current token, with its `Bearer` header
   * built once: the hot path reads no store and builds no string.
   */
  let cached:
    | {
        readonly info: TokenInfo;
        readonly key: string;
        readonly tokens: TokenSet;
        readonly bearer: string | undefined;
      }
    | undefined;
  const remember = (info: TokenInfo, key: string, tokens: TokenSet) => {
    cached = {
      info,
      key,
      tokens,
      bearer: isDpopTokenType(tokens.tokenType)
        ? undefined
        : sendableAsIs(`Bearer ${Redacted.value(tokens.accessToken)}`),
    };
    return tokens;
  };
  /** A header value fetch sends unchanged, else undefined (the slow path checks it and says why). */
  const sendableAsIs = (value: string): string | undefined => {
    try {
      return headerValue("authorization", value) === value ? value : undefined;
    } catch {
      return undefined;
    }
  };
  /** The current token's set when it is the one last read (the hot path: no await, no key). */
  const cachedTokens = (token: TokenInfo): TokenSet | undefined =>
    cached?.info === token ? cached.tokens : undefined;
  const tokensFor = async (token: TokenInfo): Promise<TokenSet | undefined> => {
    const key = tokenStoreKey(tokenKeyOf(token));
    if (cached?.info.version === token.version && cached.key === key) return cached.tokens;
    const stored = await withStore((store) => store.loadTokens(tokenKeyOf(token)));
    if (Option.isNone(stored)) return undefined;
    const held = stored.value;
    if (
      held.version > token.version &&
      (held.expiresAt === undefined || held.expiresAt > Date.now())
    ) {
      // Another session (or process) over the same store refreshed: adopt its token rather than
      // refresh again, which would rotate the refresh token under the other one's feet.
      const adopted = toTokenInfo(held, "refresh");
      if (current === undefined) leanToken = adopted;
      else current.send({ type: "token.adopted", token: adopted });
      return remember(adopted, key, held);
    }
    if (held.version !== token.version) return undefined;
    // A DPoP-bound token whose key is gone (deleted with a logout elsewhere, a store restored
    // without it) cannot be presented: it is as good as no token, and a refresh or a new
    // authorization replaces it (RFC 9449 §7.1).
    if (isDpopTokenType(held.tokenType)) {
      const dpopKey = await withStore((store) => store.loadDpopKey(held.key));
      if (Option.isNone(dpopKey)) return undefined;
    }
    return remember(token, key, held);
  };

  /**
   * The credentials of one request to the protected origin: `Bearer <token>`, or for a
   * DPoP-bound token `DPoP <token>` with a fresh proof for this method and URL (RFC 9449 §7.1) —
   * a DPoP-bound token is never sent as Bearer, so without a DPoP service it is not sent at all.
   */
  const credentialsFor = async (
    tokens: TokenSet,
    method: string,
    url: string,
  ): Promise<{ readonly authorization: string; readonly dpop?: string | undefined }> => {
    if (!isDpopTokenType(tokens.tokenType)) {
      const bearer = cached?.tokens === tokens ? cached.bearer : undefined;
      return { authorization: bearer ?? `Bearer ${Redacted.value(tokens.accessToken)}` };
    }
    const headers = await runTyped(
      Effect.flatMap(Effect.serviceOption(DPoP), (service) =>
        Option.isSome(service)
          ? service.value.resourceRequestHeaders({ tokens, method, url })
          : Effect.fail(
              new DpopKeyFailed({
                operation: "sign",
                alg: "none",
                reason: "the session's layer provides no DPoP service for a DPoP-bound token",
              }),
            ),
      ),
      "dpop",
    );
    return { authorization: Redacted.value(headers.authorization), dpop: headers.dpop };
  };

  /** A resource server's DPoP-Nonce, remembered for its origin (RFC 9449 §9). */
  const rememberResourceNonce = (url: string, response: Response) => {
    const header = response.headers.get("dpop-nonce");
    if (header === null) return Promise.resolve();
    return runTyped(
      Effect.flatMap(Effect.serviceOption(DPoP), (service) =>
        Option.isSome(service)
          ? service.value.rememberNonce("resource-server", url, header)
          : Effect.void,
      ),
      "dpop",
    ).then(() => undefined);
  };

  // ------------------------------------------------------------------ the authorized fetch
  const maxRounds =
    2 *
    ((options.config?.maxAuthorizationsPerScopeSet ??
      defaultAuthConfig.maxAuthorizationsPerScopeSet) +
      2);

  /**
   * fetch, with a failure of the transport as a typed TransportError whose message is built from
   * safe parts only (the URL's origin and path, the error code): fetch's own messages can quote
   * a header value. An abort rejects with the signal's reason, as fetch does.
   */
  const transport = async (
    input: string | URL | Request,
    init?: RequestInit,
  ): Promise<Response> => {
    try {
      return await baseFetch(input, init);
    } catch (error) {
      throw transportFailure(error, input, init);
    }
  };
  /** What a failed fetch throws instead: the signal's reason, fetch's own TypeError, or a TransportError. */
  const transportFailure = (
    error: unknown,
    input: string | URL | Request,
    init: RequestInit | undefined,
  ): unknown => {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    if (signal?.aborted) return signal.reason;
    // fetch refused what it was given (a relative URL in Node): fetch's TypeError, as fetch throws it.
    let url: string;
    try {
      url = urlOf(input);
    } catch {
      return error;
    }
    return new TransportError({
      url: displayUrl(url),
      reason: describeTransportFailure(error),
    });
  };

  /** A hop's credentials into its headers; a token no header can carry is a typed error. */
  const setCredentials = (
    headers: Record<string, string>,
    credentials: { readonly authorization: string; readonly dpop?: string | undefined },
    requestUrl: string,
  ) => {
    try {
      headers.authorization = headerValue("authorization", credentials.authorization);
      if (credentials.dpop !== undefined) headers.dpop = headerValue("dpop", credentials.dpop);
      else if (headers.dpop !== undefined) delete headers.dpop;
    } catch {
      throw new TransportError({
        url: displayUrl(requestUrl),
        reason: "the stored access token cannot be sent in a header",
      });
    }
  };
  /**
   * Sets the credentials of a hop to `target`: none off the protected origin; at once for a cached
   * Bearer header (the hot path: no await); else a DPoP proof or a header built, asynchronously.
   */
  const authorizeFor = (
    headers: Record<string, string>,
    tokens: TokenSet | undefined,
    method: string,
    target: string,
    requestUrl: string,
  ): Promise<void> | undefined => {
    if (tokens === undefined) return undefined;
    if (!hasOrigin(target, protectedOrigin)) {
      delete headers.authorization;
      delete headers.dpop;
      return undefined;
    }
    const bearer = cached?.tokens === tokens ? cached.bearer : undefined;
    if (bearer !== undefined) {
      // Checked when it was cached (remember): set as it is.
      headers.authorization = bearer;
      if (headers.dpop !== undefined) delete headers.dpop;
      return undefined;
    }
    return credentialsFor(tokens, method, target).then((credentials) =>
      setCredentials(headers, credentials, requestUrl),
    );
  };

  /**
   * Sends one request, following redirects by hand so that the bearer token goes to the
   * protected origin only (RFC 6750 §5.3): dropped on a hop to another origin, attached again on a
   * hop back — so that a 401 at the end of a chain is about the token, and is attributed to it.
   */
  const sendOnce = async (
    request: Outgoing,
    tokens: TokenSet | undefined,
  ): Promise<{ readonly response: Response; readonly url: string }> => {
    // This send's own copy of the caller's headers: every send sets the credentials again
    // before it goes, so what a redirect hop removed is never missing from the next send.
    // (Each redirect hop gets a copy of its own: a fetch that keeps `init` never sees a later
    // hop's changes in it.)
    let headers = copyHeaders(request.headers);
    let method = request.method;
    // Every request names its client (a WAF may refuse one that does not); the caller's own wins.
    if (headers["user-agent"] === undefined) headers["user-agent"] = userAgent;
    let url = request.url;
    const first = authorizeFor(headers, tokens, method, url, request.url);
    if (first !== undefined) await first;
    let body = request.body;
    for (let hop = 0; ; hop++) {
      const init: RequestInit =
        request.rest === undefined
          ? {
              method,
              headers: wireHeaders(headers),
              body: body ?? null,
              signal: request.signal ?? null,
            }
          : {
              ...request.rest,
              method,
              headers: wireHeaders(headers),
              body: body ?? null,
              signal: request.signal ?? null,
            };
      init.redirect = "manual";
      // fetch called here rather than through `transport`: one async frame fewer on every request.
      let response: Response;
      try {
        response = await baseFetch(url, init);
      } catch (error) {
        throw transportFailure(error, url, init);
      }
      if (response.type === "opaqueredirect") {
        // Browsers and workers hide manual redirects. There, fetch itself drops Authorization on
        // a cross-origin redirect (Fetch standard, HTTP-redirect fetch), so let it follow.
        const followed = await transport(url, { ...init, redirect: request.redirect });
        return { response: followed, url: followed.url || url };
      }
      if (response.status < 300 || response.status > 399) return { response, url };
      const location = response.headers.get("location");
      const redirected = location !== null && [301, 302, 303, 307, 308].includes(response.status);
      if (!redirected || request.redirect === "manual" || hop >= 10) return { response, url };
      await response.body?.cancel();
      if (request.redirect === "error")
        throw new TypeError(
          `${displayUrl(url)} redirected, and the request's redirect mode is "error"`,
        );
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return { response, url };
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") return { response, url };
      // What fetch's own redirect handling does to the request, done here as it would be
      // (Fetch standard, HTTP-redirect fetch, steps 12–13; the Authorization is handled below).
      const toGet =
        (response.status === 303 && method !== "GET" && method !== "HEAD") ||
        ((response.status === 301 || response.status === 302) && method === "POST");
      headers = headersForRedirect(headers, { toGet, crossOrigin: !hasOrigin(url, next.origin) });
      if (toGet) {
        method = "GET";
        body = undefined;
      }
      if (headers.authorization === undefined || tokens !== undefined)
        await authorizeFor(headers, tokens, method, next.href, request.url);
      else if (next.origin !== protectedOrigin) delete headers.authorization;
      url = next.href;
    }
  };

  /**
   * Where the session stands for a request: the token to send, and whether the request must wait
   * for the lifecycle to settle first. Without an actor, the restored (or adopted) token serves.
   */
  const standing = (): { readonly token: TokenInfo | undefined; readonly waits: boolean } => {
    if (current === undefined) return { token: leanToken, waits: false };
    const snapshot = current.getSnapshot();
    return {
      token: snapshot.context.token,
      // A refresh ahead of expiry does not hold requests back: the current token still serves.
      waits: snapshot.hasTag("busy") && !servesRequests(snapshot),
    };
  };
  /** The token a request would send now (standing's token, without the rest). */
  const currentToken = (): TokenInfo | undefined =>
    current === undefined ? leanToken : current.getSnapshot().context.token;
  /** The refresh-ahead deadline of a token the resource accepted, for a session without its actor. */
  const aheadConfig = { ...defaultAuthConfig, ...config };
  /** The refresh deadline of the token it was last computed for (every request asks). */
  let dueOf: { readonly token: TokenInfo; readonly at: number | undefined } | undefined;
  const leanRefreshDue = (token: TokenInfo, now: number): boolean => {
    if (acceptedVersion !== token.version) return false;
    if (dueOf?.token !== token) dueOf = { token, at: refreshAheadAt(token, aheadConfig) };
    return dueOf.at !== undefined && dueOf.at <= now;
  };

  const authorizedFetch: typeof globalThis.fetch = async (input, init) => {
    // Behaviour 8: other origins pass through untouched, without the token.
    const target = urlOf(input);
    if (!hasOrigin(target, protectedOrigin)) return transport(input, init);
    const read = readOutgoing(input, init, target);
    const request = read instanceof Promise ? await read : read;
    const signal = request.signal;
    /** A token found expired by the clock is asked about once; a fresh one is then sent as is. */
    let askedExpired = false;
    for (let round = 0; round < maxRounds; round++) {
      if (closed) throw new FlowCancelled({ reason: "the session is closed" });
      const { token, waits } = standing();
      if (waits) {
        await waitSettled(signal);
        continue;
      }
      let tokens: TokenSet | undefined;
      if (token !== undefined) {
        const now = Date.now();
        const expired = token.expiresAt !== undefined && token.expiresAt <= now;
        // The resource uses this token and its refresh is due: the statechart takes over (and
        // refreshes ahead of expiry while the token keeps serving).
        if (current === undefined && !expired && leanRefreshDue(token, now)) {
          hydrate();
          continue;
        }
        tokens =
          expired && !askedExpired ? undefined : (cachedTokens(token) ?? (await tokensFor(token)));
        // A newer token adopted from the store: go round once more with it as the current one.
        if (currentToken()?.version !== token.version) continue;
        if (tokens === undefined) {
          // Never send an expired or vanished token: refresh or re-authorize first. A token
          // that expires before a request can use it (a server's lifetime shorter than a round
          // trip) is sent once anyway: the resource judges it, and a 401 is bounded (one refresh).
          if (expired) askedExpired = true;
          await ask({ type: "token.expired", tokenVersion: token.version }, signal);
          continue;
        }
      }
      let { response, url } = await sendOnce(request, tokens);
      // Only the protected resource's own challenges count: a 401 from another origin reached by
      // a redirect is handed back as it is, never a reason to discover or authorize.
      let atResource = url === request.url || hasOrigin(url, protectedOrigin);
      if (atResource && tokens !== undefined && isDpopTokenType(tokens.tokenType)) {
        await rememberResourceNonce(url, response);
        // RFC 9449 §9: the resource server asks for its nonce in the proof — once per request.
        const nonce = readResourceNonceChallenge({
          status: response.status,
          wwwAuthenticate: response.headers.get("www-authenticate"),
          dpopNonce: response.headers.get("dpop-nonce"),
        });
        if (nonce !== undefined) {
          await response.body?.cancel();
          ({ response, url } = await sendOnce(request, tokens));
          atResource = hasOrigin(url, protectedOrigin);
          if (atResource) await rememberResourceNonce(url, response);
          // A server that asks for yet another nonce with the one it gave is not judging the
          // token: no refresh, no re-authorization — a typed error for this request.
          const again = readResourceNonceChallenge({
            status: response.status,
            wwwAuthenticate: response.headers.get("www-authenticate"),
            dpopNonce: response.headers.get("dpop-nonce"),
          });
          if (atResource && again !== undefined) {
            await response.body?.cancel();
            throw new InvalidChallenge({
              status: 401,
              reason: "the resource server asked for another DPoP nonce after the one it gave",
            });
          }
        }
      }
      const challenge = atResource ? challengeOf(response) : undefined;
      if (challenge === undefined) {
        // The token is in use (proactive refresh) and, after a refresh-after-401, proven (T9).
        if (token !== undefined && atResource && response.status !== 401) {
          // Sent once per token when a request is not refused, and once more when one succeeds;
          // a session without its actor keeps them for the actor it may start.
          if (acceptedVersion !== token.version) {
            acceptedVersion = token.version;
            if (response.ok) provenVersion = token.version;
            current?.send({
              type: "token.accepted",
              tokenVersion: token.version,
              proven: response.ok,
            });
          } else if (response.ok && provenVersion !== token.version) {
            provenVersion = token.version;
            current?.send({ type: "token.accepted", tokenVersion: token.version, proven: true });
          }
        }
        return response;
      }
      await response.body?.cancel();
      const problem = challengeProblem(challenge);
      if (problem !== undefined)
        throw new InvalidChallenge({ status: challenge.status, reason: problem });
      await ask({ type: "challenge.received", challenge, tokenVersion: token?.version }, signal);
    }
    const context = hydrate().getSnapshot().context;
    throw new AuthorizationLoop({
      scopes: context.scopes?.requested ?? [],
      attempts: maxRounds,
      counted: "rounds of one request",
    });
  };

  /**
   * Authorize ahead of time, or for more scopes. A flow already running is waited out first (its
   * outcome is its own requests' business); the promise rejects with this flow's error, or with
   * ScopeDeclined when the authorization server granted less than was asked.
   */
  const authorize = async (scopes?: readonly string[]) => {
    if (hydrate().getSnapshot().hasTag("busy")) await waitSettled(undefined).catch(() => undefined);
    const settled = waitSettled(undefined);
    hydrate().send({ type: "session.authorize", scopes });
    await settled;
    const granted = hydrate().getSnapshot().context.token?.scopes ?? [];
    const missing = missingScopes(scopes ?? [], granted);
    if (missing.length > 0) throw new ScopeDeclined({ missing });
  };

  /**
   * RFC 7009: revoke one held token set at its issuer, when the issuer advertises revocation —
   * with the metadata the session knows, else discovered again — and the client's authentication.
   */
  const revokeHeld = (key: TokenKey, known: AuthServerInfo | undefined) =>
    Effect.gen(function* () {
      const held = yield* (yield* CredentialStore).loadTokens(key);
      if (Option.isNone(held)) return { revoked: 0 };
      const metadata =
        known?.issuer === key.issuer
          ? known.metadata
          : (yield* discoverAuthServer(key.issuer, { forAuthorizationCode: false })).metadata;
      if (metadata.revocation_endpoint === undefined) return { revoked: 0 };
      const client = yield* resolveClient(key.issuer, key.clientId, options.client);
      return yield* revokeTokens({
        issuer: key.issuer,
        metadata,
        client,
        signingKey:
          findPreRegistered(options.client, key.issuer)?.signingKey ?? options.client.signingKey,
        tokens: held.value,
      });
    });

  const logout = async (): Promise<LogoutReport> => {
    const known = hydrate().getSnapshot().context.authServer;
    hydrate().send({ type: "session.logout" });
    leanToken = undefined;
    cached = undefined;
    await saving;
    // Every token key this session held: a token dropped from the context (a re-authorization
    // in progress, another issuer) may still sit in the store with its refresh token.
    const keys = [...heldTokens.values()];
    heldTokens.clear();
    lastHeld = undefined;
    // Revoked first (RFC 7009), deleted whatever the answer: a failed revocation is reported,
    // never a reason to keep the local copy.
    let revoked = 0;
    const failures: AuthchartError[] = [];
    for (const key of keys) {
      try {
        revoked += (await runTyped(revokeHeld(key, known), "revoke")).revoked;
      } catch (error) {
        failures.push(asAuthchartError("revoke", error));
      }
    }
    notify(traceListeners, {
      type: "trace",
      decision: "revoked",
      reason:
        failures.length === 0
          ? `${revoked} token${revoked === 1 ? "" : "s"} revoked at the authorization server; the local copies deleted`
          : `${failures.map((f) => f.message).join("; ")}; the local copies deleted all the same`,
    });
    await withStore((store) =>
      Effect.all(
        [...keys.map((key) => store.deleteTokens(key)), store.deleteSession(options.serverUrl)],
        { discard: true },
      ),
    );
    // The DPoP keys of those tokens go too, from the store and from the DPoP service's memory (a
    // key kept in memory only would bind the next login's token to a key no store holds).
    await runTyped(
      Effect.flatMap(Effect.serviceOption(DPoP), (service) =>
        Option.isSome(service)
          ? Effect.all(
              keys.map((key) => service.value.discardKey(key)),
              { discard: true },
            )
          : Effect.void,
      ),
      "dpop",
    );
    lastSaved = "";
    return { revoked, failures };
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    current?.stop();
    for (const cancel of unanswered) cancel();
    unanswered.clear();
    stateListeners.clear();
    traceListeners.clear();
    await saving;
    await managed?.dispose();
  };

  return {
    fetch: authorizedFetch,
    authorize,
    // Without an actor no flow runs: nothing to cancel.
    cancel: () => {
      current?.send({ type: "flow.cancel" });
    },
    logout,
    close,
    state,
    // A watcher sees the statechart: subscribing starts it (a restored session's "restored"
    // included, for a trace listener added before anything else happened).
    subscribe: (listener) => {
      stateListeners.add(listener);
      hydrate();
      return () => stateListeners.delete(listener);
    },
    onTrace: (listener) => {
      traceListeners.add(listener);
      hydrate();
      return () => traceListeners.delete(listener);
    },
    get actor() {
      return hydrate();
    },
  };
};

/** Why a challenge cannot be acted on: more or longer scopes than any request may carry. */
const challengeProblem = (challenge: ChallengeInfo): string | undefined => {
  const scopes = challenge.scope ?? [];
  if (scopes.length > wireLimits.scopes) return `it names more than ${wireLimits.scopes} scopes`;
  if (scopes.some((s) => s.length > wireLimits.scope))
    return `it names a scope longer than ${wireLimits.scope} characters`;
  if ((challenge.resourceMetadata?.length ?? 0) > wireLimits.url)
    return `its resource_metadata is longer than ${wireLimits.url} characters`;
  return undefined;
};

/** A 401 (any), or a 403 whose Bearer/DPoP challenge says insufficient_scope (RFC 6750 §3.1). */
export const challengeOf = (response: Response): ChallengeInfo | undefined => {
  if (response.status !== 401 && response.status !== 403) return undefined;
  const parsed = readResourceChallenge(response.headers.get("www-authenticate"));
  if (response.status === 403 && parsed?.error !== "insufficient_scope") return undefined;
  return {
    status: response.status,
    error: parsed?.error,
    scope: parsed?.scope,
    resourceMetadata: parsed?.resourceMetadata,
  };
};
