/**
 * Scripted actors, fixtures and a driver for the statechart tests: the machine runs for real
 * (createActor over `authMachine.provide({ actors })`), each step actor is a promise the test
 * settles — resolve with an output or reject with a typed error, as a path or a test says — and
 * `after` timers run on xstate's SimulatedClock, so nothing depends on wall-clock timing.
 */
import { Redacted } from "effect";
import {
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  createActor,
  fromPromise,
  type InspectionEvent,
  SimulatedClock,
  type SnapshotFrom,
} from "xstate";
import {
  AuthorizationDenied,
  AuthServerMetadataNotFound,
  DpopRequiredByResource,
  RegistrationRejected,
  ResourceMetadataNotFound,
  ResourceMismatch,
  StoreFailed,
  TokenEndpointFailed,
  TokenRejected,
  TransportError,
} from "../../src/errors.js";
import type {
  AuthorizeActorInput,
  DeviceCodeActorInput,
  DeviceTokenActorInput,
  DirectGrantActorInput,
  DiscoverAuthServerActorInput,
  DiscoverResourceActorInput,
  ExchangeCodeActorInput,
  FindStoredTokenActorInput,
  IdJagGrantActorInput,
  PendingDeviceAuthorization,
  RefreshActorInput,
  RegisterActorInput,
  StoredToken,
} from "../../src/machine/actors.js";
import { type AuthMachine, authMachine } from "../../src/machine/auth-machine.js";
import { authorizationCodeFlow } from "../../src/machine/flows/authorization-code.js";
import { clientCredentialsFlow } from "../../src/machine/flows/client-credentials.js";
import { crossAppAccessFlow } from "../../src/machine/flows/cross-app-access.js";
import { deviceAuthorizationFlow } from "../../src/machine/flows/device-authorization.js";
import type { FlowInput, FlowOutput } from "../../src/machine/flows/flow.js";
import { jwtBearerFlow } from "../../src/machine/flows/jwt-bearer.js";
import type {
  AuthConfig,
  AuthEmitted,
  AuthEvent,
  AuthInput,
  AuthServerInfo,
  ChallengeInfo,
  ClientInfo,
  ResourceInfo,
  Scopes,
  TokenInfo,
  TraceEntry,
} from "../../src/machine/model.js";
import type { RegistrationKind } from "../../src/schema/credentials.js";
import type { AuthorizationGrant } from "../../src/steps/authorize.js";

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

export const SERVER_URL = "https://mcp.example.com/mcp";
export const RESOURCE = "https://mcp.example.com/mcp";
export const ISSUER = "https://auth.example.com";
export const PRM_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
/** Far in the future: a token that is not due for a refresh while a test runs. */
export const FAR_FUTURE = Date.UTC(2100, 0, 1);
/** Long past: a token whose proactive refresh is due at once. */
export const LONG_AGO = 0;

export const asMetadata = (
  issuer: string,
  scopesSupported: Scopes = ["read", "write", "admin", "offline_access"],
) => ({
  issuer,
  authorization_endpoint: `${issuer}/authorize`,
  token_endpoint: `${issuer}/token`,
  registration_endpoint: `${issuer}/register`,
  code_challenge_methods_supported: ["S256"],
  response_types_supported: ["code"],
  scopes_supported: scopesSupported,
});

export const resourceInfo = (scopesSupported?: Scopes): ResourceInfo => ({
  resource: RESOURCE,
  metadataUrl: PRM_URL,
  authorizationServer: ISSUER,
  scopesSupported,
  legacy: false,
});

export const authServerInfo = (
  issuer: string = ISSUER,
  scopesSupported?: Scopes,
): AuthServerInfo => ({
  issuer,
  metadata: asMetadata(issuer, scopesSupported),
  metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
  discoveredAt: Date.now(),
});

export const clientInfo = (kind: RegistrationKind, issuer: string = ISSUER): ClientInfo => ({
  issuer,
  clientId: kind === "dynamic" ? "dyn-client" : "static-client",
  kind,
});

export const grantFor = (scopes: Scopes, clientId = "dyn-client"): AuthorizationGrant => ({
  issuer: ISSUER,
  code: Redacted.make("the-code"),
  codeVerifier: Redacted.make("the-verifier"),
  redirectUri: "http://127.0.0.1:33418/callback",
  resource: RESOURCE,
  requestedScopes: scopes,
  clientId,
});

export const tokenInfo = (overrides: Partial<TokenInfo> = {}): TokenInfo => ({
  issuer: ISSUER,
  clientId: "dyn-client",
  resource: RESOURCE,
  version: 1,
  scopes: ["read"],
  expiresAt: FAR_FUTURE,
  hasRefreshToken: true,
  obtainedAt: 0,
  obtainedBy: "authorization",
  ...overrides,
});

/** One instance of every typed failure the guards tell apart (and a few they do not). */
export const failures = {
  resourceMetadataNotFound: new ResourceMetadataNotFound({
    resource: RESOURCE,
    tried: [PRM_URL, "https://mcp.example.com/.well-known/oauth-protected-resource"],
  }),
  resourceMismatch: new ResourceMismatch({
    expected: RESOURCE,
    actual: "https://evil.example/mcp",
    metadataUrl: PRM_URL,
  }),
  transport: new TransportError({ url: `${ISSUER}/token`, reason: "connection reset" }),
  storeFailed: new StoreFailed({ operation: "load", reason: "the store file is unreadable" }),
  dpopRequiredByResource: new DpopRequiredByResource({ resource: RESOURCE }),
  authServerMetadataNotFound: new AuthServerMetadataNotFound({
    issuer: ISSUER,
    tried: [`${ISSUER}/.well-known/oauth-authorization-server`],
  }),
  registrationRejected: new RegistrationRejected({
    issuer: ISSUER,
    status: 400,
    error: "invalid_client_metadata",
  }),
  deniedInvalidScope: new AuthorizationDenied({ error: "invalid_scope" }),
  deniedAccess: new AuthorizationDenied({ error: "access_denied" }),
  tokenInvalidClient: new TokenRejected({
    code: "invalid_client",
    status: 401,
    grantType: "authorization_code",
  }),
  tokenInvalidScope: new TokenRejected({
    code: "invalid_scope",
    status: 400,
    grantType: "authorization_code",
  }),
  tokenInvalidGrant: new TokenRejected({
    code: "invalid_grant",
    status: 400,
    grantType: "authorization_code",
  }),
  refreshInvalidGrant: new TokenRejected({
    code: "invalid_grant",
    status: 400,
    grantType: "refresh_token",
  }),
  refreshInvalidClient: new TokenRejected({
    code: "invalid_client",
    status: 401,
    grantType: "refresh_token",
  }),
  refreshUnauthorizedClient: new TokenRejected({
    code: "unauthorized_client",
    status: 400,
    grantType: "refresh_token",
  }),
  tokenEndpoint503: new TokenEndpointFailed({
    status: 503,
    grantType: "refresh_token",
    reason: "service unavailable",
  }),
} as const;

// ---------------------------------------------------------------------------------------------
// Scripted actors
// ---------------------------------------------------------------------------------------------

export type StepId =
  | "flow"
  | "discoverResource"
  | "discoverAuthServer"
  | "register"
  | "authorize"
  | "exchangeCode"
  | "requestClientCredentials"
  | "requestJwtBearer"
  | "requestIdJag"
  | "exchangeIdJag"
  | "requestDeviceCode"
  | "pollDeviceToken"
  | "findStoredToken"
  | "refreshToken";

interface StepInputs {
  readonly flow: FlowInput;
  readonly discoverResource: DiscoverResourceActorInput;
  readonly discoverAuthServer: DiscoverAuthServerActorInput;
  readonly register: RegisterActorInput;
  readonly authorize: AuthorizeActorInput;
  readonly exchangeCode: ExchangeCodeActorInput;
  readonly requestClientCredentials: DirectGrantActorInput;
  readonly requestJwtBearer: DirectGrantActorInput;
  readonly requestIdJag: DirectGrantActorInput;
  readonly exchangeIdJag: IdJagGrantActorInput;
  readonly requestDeviceCode: DeviceCodeActorInput;
  readonly pollDeviceToken: DeviceTokenActorInput;
  readonly findStoredToken: FindStoredTokenActorInput;
  readonly refreshToken: RefreshActorInput;
}

export interface StepCall<K extends StepId = StepId> {
  readonly id: K;
  readonly input: StepInputs[K];
  readonly signal: AbortSignal;
  settled: boolean;
  resolve(output: unknown): void;
  reject(error: unknown): void;
}

/** Every invocation of a step actor waits here until the test settles it. */
export class Script {
  readonly calls: StepCall[] = [];

  /** The running (unsettled, not aborted) invocation of a step, if any. */
  running<K extends StepId>(id: K): StepCall<K> | undefined {
    for (let i = this.calls.length - 1; i >= 0; i--) {
      const call = this.calls[i];
      if (call && call.id === id && !call.settled && !call.signal.aborted) {
        return call as StepCall<K>;
      }
    }
    return undefined;
  }

  callsOf<K extends StepId>(id: K): StepCall<K>[] {
    return this.calls.filter((c): c is StepCall<K> => c.id === id);
  }

  settle(id: StepId, outcome: { readonly output: unknown } | { readonly error: unknown }) {
    const call = this.running(id);
    if (!call) throw new Error(`no ${id} actor is running`);
    call.settled = true;
    if ("error" in outcome) call.reject(outcome.error);
    else call.resolve(outcome.output);
  }
}

/** The Script of each running machine, found by the actor system its step actors run in. */
const scripts = new WeakMap<object, Script>();

const scripted = <K extends StepId, O>(id: K) =>
  fromPromise<O, StepInputs[K]>(
    ({ input, signal, system }) =>
      new Promise<O>((resolve, reject) => {
        const script = scripts.get(system);
        if (!script) throw new Error(`${id} started outside drive()`);
        script.calls.push({
          id,
          input,
          signal,
          settled: false,
          resolve: resolve as (output: unknown) => void,
          reject,
        } as StepCall);
      }),
  );

/** Step actors that wait for the test: one set for every machine driven here. */
export const scriptedActors = {
  /** The child flow itself, as one scripted step: for the lifecycle's own path coverage. */
  flow: scripted<"flow", FlowOutput>("flow"),
  discoverResource: scripted<"discoverResource", ResourceInfo>("discoverResource"),
  discoverAuthServer: scripted<"discoverAuthServer", AuthServerInfo>("discoverAuthServer"),
  register: scripted<"register", ClientInfo>("register"),
  authorize: scripted<"authorize", AuthorizationGrant>("authorize"),
  exchangeCode: scripted<"exchangeCode", TokenInfo>("exchangeCode"),
  requestClientCredentials: scripted<"requestClientCredentials", TokenInfo>(
    "requestClientCredentials",
  ),
  requestJwtBearer: scripted<"requestJwtBearer", TokenInfo>("requestJwtBearer"),
  requestIdJag: scripted<"requestIdJag", IdJagGrantActorInput["idJag"]>("requestIdJag"),
  exchangeIdJag: scripted<"exchangeIdJag", TokenInfo>("exchangeIdJag"),
  requestDeviceCode: scripted<"requestDeviceCode", PendingDeviceAuthorization>("requestDeviceCode"),
  pollDeviceToken: scripted<"pollDeviceToken", TokenInfo>("pollDeviceToken"),
  findStoredToken: scripted<"findStoredToken", StoredToken | undefined>("findStoredToken"),
  refreshToken: scripted<"refreshToken", TokenInfo>("refreshToken"),
};

/** The step actors of every flow, scripted. */
const flowSteps = {
  discoverResource: scriptedActors.discoverResource,
  discoverAuthServer: scriptedActors.discoverAuthServer,
  register: scriptedActors.register,
  authorize: scriptedActors.authorize,
  exchangeCode: scriptedActors.exchangeCode,
  requestClientCredentials: scriptedActors.requestClientCredentials,
  requestJwtBearer: scriptedActors.requestJwtBearer,
  requestIdJag: scriptedActors.requestIdJag,
  exchangeIdJag: scriptedActors.exchangeIdJag,
  requestDeviceCode: scriptedActors.requestDeviceCode,
  pollDeviceToken: scriptedActors.pollDeviceToken,
  findStoredToken: scriptedActors.findStoredToken,
};

export type FlowMachine = (typeof flows)[keyof typeof flows];

/** Every grant's flow, by the lifecycle's actor name. */
export const flows = {
  authorizationCode: authorizationCodeFlow,
  clientCredentials: clientCredentialsFlow,
  jwtBearer: jwtBearerFlow,
  crossAppAccess: crossAppAccessFlow,
  deviceAuthorization: deviceAuthorizationFlow,
} as const;

/** `provide()` builds a whole new machine; it is done once per machine, not once per test. */
const provided = new WeakMap<AuthMachine, AuthMachine>();
const withScriptedActors = (machine: AuthMachine): AuthMachine => {
  let result = provided.get(machine);
  if (!result) {
    result = machine.provide({
      actors: {
        authorizationCode: authorizationCodeFlow.provide({ actors: flowSteps }),
        clientCredentials: clientCredentialsFlow.provide({ actors: flowSteps }),
        jwtBearer: jwtBearerFlow.provide({ actors: flowSteps }),
        crossAppAccess: crossAppAccessFlow.provide({ actors: flowSteps }),
        deviceAuthorization: deviceAuthorizationFlow.provide({ actors: flowSteps }),
        refreshToken: scriptedActors.refreshToken,
      },
    });
    provided.set(machine, result);
  }
  return result;
};

/** The lifecycle alone: its flow is one scripted step that the test settles with a FlowOutput. */
const parentOnly = new WeakMap<AuthMachine, AuthMachine>();
const withScriptedFlow = (machine: AuthMachine): AuthMachine => {
  let result = parentOnly.get(machine);
  if (!result) {
    result = machine.provide({
      actors: {
        // Any logic with the flow's input and output may stand in for it (flows/flow.ts).
        authorizationCode: scriptedActors.flow as unknown as typeof authorizationCodeFlow,
        clientCredentials: scriptedActors.flow as unknown as typeof clientCredentialsFlow,
        jwtBearer: scriptedActors.flow as unknown as typeof jwtBearerFlow,
        crossAppAccess: scriptedActors.flow as unknown as typeof crossAppAccessFlow,
        deviceAuthorization: scriptedActors.flow as unknown as typeof deviceAuthorizationFlow,
        refreshToken: scriptedActors.refreshToken,
      },
    });
    parentOnly.set(machine, result);
  }
  return result;
};

/**
 * The authorization-code flow alone, with scripted steps; what it reports to a parent (trace,
 * authorizations) goes nowhere — the composed machine's tests check those reports.
 */
export const standalone = (flow: FlowMachine) =>
  // Every flow is a machine of the one flow setup (flows/setup.ts): same actors and actions.
  (flow as typeof authorizationCodeFlow).provide({
    actors: flowSteps,
    actions: { trace: () => undefined, reportAuthorizing: () => undefined },
  });
export const standaloneFlow = standalone(authorizationCodeFlow);

export type FlowSnapshot = SnapshotFrom<typeof authorizationCodeFlow>;

/** A running flow (standalone) with scripted steps and a simulated clock. */
export const driveFlow = (flowInput: FlowInput, machine = standaloneFlow) => {
  const script = new Script();
  const clock = new SimulatedClock();
  const taken: AnyTransitionDefinition[] = [];
  const actor = createActor(machine, {
    input: flowInput,
    clock,
    inspect: (event: InspectionEvent) => {
      if (event.type === "@xstate.microstep" && event.actorRef.sessionId === event.rootId) {
        taken.push(...event._transitions);
      }
    },
  });
  scripts.set(actor.system, script);
  actor.start();
  return {
    actor,
    script,
    taken,
    snapshot: () => actor.getSnapshot(),
    resolve: async (id: StepId, output: unknown) => {
      script.settle(id, { output });
      await flush();
    },
    reject: async (id: StepId, error: unknown) => {
      script.settle(id, { error });
      await flush();
    },
    elapse: () => clock.increment(BEYOND_ANY_DELAY),
  };
};

/** Where a snapshot is: the lifecycle's state, and inside `obtaining` the flow's step. */
export const whereIs = (snapshot: AuthSnapshot): string => {
  const value = snapshot.value;
  const top = typeof value === "string" ? value : Object.keys(value).join(",");
  const flow = snapshot.children.flow?.getSnapshot();
  const step = flow && "value" in flow ? (flow as { readonly value: unknown }).value : undefined;
  if (top === "obtaining" && step !== undefined) {
    return `obtaining.${typeof step === "string" ? step : JSON.stringify(step)}`;
  }
  return typeof value === "string" ? value : JSON.stringify(value);
};

/** Lets promise callbacks and the events they relay run to completion. */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Longer than any delay the machine can hold (setTimeout's 32-bit limit). */
export const BEYOND_ANY_DELAY = 2 ** 31;

export type AuthSnapshot = SnapshotFrom<AuthMachine>;

// ---------------------------------------------------------------------------------------------
// Transitions, named from the machine definition itself
// ---------------------------------------------------------------------------------------------

/** Every state node below the root, in document order. */
export const stateNodesOf = (machine: AnyStateMachine): AnyStateNode[] => {
  const out: AnyStateNode[] = [];
  const walk = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      out.push(child);
      walk(child);
    }
  };
  walk(machine.root);
  return out;
};

/**
 * A transition's name: its source node, its event (`always` for eventless ones) and its place
 * among that event's guarded candidates. The same for the same definition in any machine made
 * from it (`provide()` builds new state nodes), so coverage can be counted across machines.
 */
export const transitionKey = (t: AnyTransitionDefinition): string => {
  const node = t.source as AnyStateNode;
  const always = t.eventType === "";
  const list: readonly AnyTransitionDefinition[] = always
    ? (node.always ?? [])
    : (node.transitions.get(t.eventType) ?? []);
  return `#${node.id} ${always ? "always" : t.eventType} [${list.indexOf(t)}]`;
};

/** Every transition of the machine: each guarded candidate of each event, `always` and `after`. */
export const transitionsOf = (machine: AnyStateMachine): AnyTransitionDefinition[] =>
  [machine.root, ...stateNodesOf(machine)].flatMap((node) => [
    ...[...node.transitions.values()].flat(),
    ...(node.always ?? []),
  ]);

export const input = (
  config: Partial<AuthConfig> = {},
  restored?: AuthInput["restored"],
): AuthInput => ({ serverUrl: SERVER_URL, config, restored });

/** A running machine with scripted actors, a simulated clock and recorders. */
export const drive = (
  machineInput: AuthInput,
  machine: AuthMachine = authMachine,
  /** `composed`: the real flow with scripted steps; `lifecycle`: the flow is one scripted step. */
  mode: "composed" | "lifecycle" = "composed",
) => {
  const script = new Script();
  const clock = new SimulatedClock();
  const emitted: AuthEmitted[] = [];
  const taken: AnyTransitionDefinition[] = [];
  const provided = mode === "composed" ? withScriptedActors(machine) : withScriptedFlow(machine);
  const actor = createActor(provided, {
    input: machineInput,
    clock,
    inspect: (event: InspectionEvent) => {
      // the machine's own microsteps (the initial one included), not its children's
      if (event.type === "@xstate.microstep" && event.actorRef.sessionId === event.rootId) {
        taken.push(...event._transitions);
      }
    },
  });
  scripts.set(actor.system, script);
  actor.on("*", (event) => {
    emitted.push(event as AuthEmitted);
  });
  actor.start();
  let version = machineInput.restored?.token?.version ?? 0;

  return {
    actor,
    script,
    clock,
    emitted,
    taken,
    /** The version the credential store gives the next token it saves. */
    nextVersion: () => ++version,
    /** The running invocation of a step: the test fails if there is none. */
    running: <K extends StepId>(id: K): StepCall<K> => {
      const call = script.running(id);
      if (!call)
        throw new Error(
          `no ${id} actor is running (state ${JSON.stringify(actor.getSnapshot().value)})`,
        );
      return call;
    },
    snapshot: () => actor.getSnapshot(),
    context: () => actor.getSnapshot().context,
    value: () => actor.getSnapshot().value,
    /** The running flow's context (what it learned so far), if a flow runs. */
    flowContext: () => {
      const flow = actor.getSnapshot().children.flow?.getSnapshot();
      return flow && "context" in flow ? (flow.context as { client?: unknown }) : undefined;
    },
    /** The lifecycle's state, or `obtaining.<the flow's step>`. */
    at: () => whereIs(actor.getSnapshot()),
    send: (event: AuthEvent) => actor.send(event),
    resolve: async (id: StepId, output: unknown) => {
      script.settle(id, { output });
      await flush();
    },
    reject: async (id: StepId, error: unknown) => {
      script.settle(id, { error });
      await flush();
    },
    /** Runs the pending `after` timer of the current state (one at a time in this machine). */
    elapse: () => clock.increment(BEYOND_ANY_DELAY),
    traces: () => emitted.filter((e): e is TraceEntry => e.type === "trace"),
    answers: (requestId?: string) =>
      emitted.filter(
        (e): e is Extract<AuthEmitted, { type: "challenge.answered" }> =>
          e.type === "challenge.answered" && (requestId === undefined || e.requestId === requestId),
      ),
  };
};

export type Driven = ReturnType<typeof drive>;

// ---------------------------------------------------------------------------------------------
// Domain events
// ---------------------------------------------------------------------------------------------

let requestCounter = 0;
const nextRequestId = () => `r${++requestCounter}`;

export const challenge = (
  info: ChallengeInfo,
  tokenVersion?: number,
  requestId: string = nextRequestId(),
): AuthEvent => ({ type: "challenge.received", requestId, challenge: info, tokenVersion });

export const unauthorized401 = (tokenVersion?: number, requestId?: string) =>
  challenge({ status: 401, error: "invalid_token" }, tokenVersion, requestId);

export const insufficientScope403 = (scope: Scopes, tokenVersion?: number, requestId?: string) =>
  challenge(
    { status: 403, error: "insufficient_scope", scope: scope.length ? scope : undefined },
    tokenVersion,
    requestId,
  );
