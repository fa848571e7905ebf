/**
 * Path coverage of the authorization-code flow, standalone with scripted steps: every state and
 * every transition, from each way the lifecycle starts it (a first authorization, a 401 with a
 * known client, a step-up on current metadata, a re-registration, a loop-guarded step-up).
 */
import type { AnyEventObject, AnyMachineSnapshot } from "xstate";
import type { FlowInput } from "../../src/machine/flows/flow.js";
import { countAuthorization, noAuthorizations } from "../../src/machine/loop-guard.js";
import { defaultAuthConfig } from "../../src/machine/model.js";
import { describeCoverage } from "./coverage.js";
import { deviceAuthServerInfo, flowEvents, serializeFlow } from "./flow-model.js";
import {
  authServerInfo,
  clientInfo,
  driveFlow,
  type FlowSnapshot,
  flows,
  resourceInfo,
  SERVER_URL,
  type StepId,
  standalone,
  standaloneFlow,
} from "./scripted.js";

const config = { ...defaultAuthConfig, maxAuthorizationsPerScopeSet: 1 };
/** A background session: a flow that needs the user ends after its plan (InteractionRequired). */
const background = { ...config, interaction: "never" as const };
/** A user agent without a browser here: the device grant where the server offers it. */
const headless = { ...config, preferDeviceFlow: true };
const noFacts = {
  config,
  requestedSoFar: [],
  declined: [],
  refused: [],
  granted: [],
  optional: [],
};
const flowInput = (overrides: Partial<FlowInput> = {}): FlowInput => ({
  serverUrl: SERVER_URL,
  config,
  facts: noFacts,
  authorizations: noAuthorizations,
  reregister: false,
  ...overrides,
});
const stepUp = { status: 403, error: "insufficient_scope", scope: ["write"] } as const;
const known = {
  resource: resourceInfo(["read", "write"]),
  authServer: authServerInfo(undefined, ["read", "write"]),
};

const replay = (machine: typeof standaloneFlow) => (flowInput: FlowInput) => {
  const driven = driveFlow(flowInput, machine);
  return {
    taken: driven.taken,
    snapshot: driven.snapshot,
    apply: async (event: AnyEventObject) => {
      if (event.type.startsWith("xstate.done.actor.")) {
        await driven.resolve(event.type.slice(18) as StepId, event.output);
      } else if (event.type.startsWith("xstate.error.actor.")) {
        await driven.reject(event.type.slice(19) as StepId, event.error);
      } else {
        driven.elapse();
      }
    },
    stop: () => driven.actor.stop(),
  };
};

/** The flows without a browser step: a first token, and a step-up on known metadata. */
const withoutBrowser = (
  name: string,
  flow: (typeof flows)[keyof typeof flows],
  depth: number,
  extra: readonly { name: string; input: FlowInput; depth: number }[] = [],
) => {
  const machine = standalone(flow);
  describeCoverage<FlowInput>({
    name,
    machine,
    scenarios: [
      { name: "a first token", input: flowInput(), depth },
      {
        name: "a step-up on known metadata",
        input: flowInput({
          facts: { ...noFacts, challenge: stepUp, granted: ["read"], ...known },
          client: clientInfo("pre-registered"),
        }),
        depth: depth - 2,
      },
      {
        name: "a step-up the loop guard refuses",
        input: flowInput({
          facts: { ...noFacts, challenge: stepUp, granted: ["read"], ...known },
          authorizations: countAuthorization(noAuthorizations, ["read", "write"]),
        }),
        depth: 1,
      },
      ...extra,
    ],
    events: (snapshot: AnyMachineSnapshot) => flowEvents(snapshot as FlowSnapshot),
    serialize: (snapshot: AnyMachineSnapshot) => serializeFlow(snapshot as FlowSnapshot),
    replay: replay(machine),
  });
};

withoutBrowser("clientCredentialsFlow", flows.clientCredentials, 5);
withoutBrowser("jwtBearerFlow", flows.jwtBearer, 5);
withoutBrowser("crossAppAccessFlow", flows.crossAppAccess, 6);
withoutBrowser("deviceAuthorizationFlow", flows.deviceAuthorization, 7, [
  {
    name: "a background session",
    input: flowInput({ config: background, facts: { ...noFacts, config: background } }),
    depth: 3,
  },
]);

describeCoverage<FlowInput>({
  name: "authorizationCodeFlow",
  machine: standaloneFlow,
  scenarios: [
    { name: "a first authorization", input: flowInput(), depth: 7 },
    {
      name: "a 401 with a known dynamic client",
      input: flowInput({
        facts: { ...noFacts, challenge: { status: 401, scope: ["read"] }, ...known },
        client: clientInfo("dynamic"),
      }),
      depth: 7,
    },
    {
      name: "a step-up on current metadata",
      input: flowInput({
        facts: { ...noFacts, challenge: stepUp, granted: ["read"], ...known },
        client: clientInfo("dynamic"),
      }),
      depth: 4,
    },
    {
      name: "a step-up the loop guard refuses",
      input: flowInput({
        facts: { ...noFacts, challenge: stepUp, granted: ["read"], ...known },
        client: clientInfo("dynamic"),
        authorizations: countAuthorization(noAuthorizations, ["read", "write"]),
      }),
      depth: 1,
    },
    {
      name: "a re-authorization the loop guard refuses once the plan is made",
      input: flowInput({
        facts: { ...noFacts, challenge: { status: 401, scope: ["read"] } },
        authorizations: countAuthorization(noAuthorizations, ["read"]),
      }),
      depth: 3,
    },
    {
      name: "a background session's first authorization",
      input: flowInput({ config: background, facts: { ...noFacts, config: background } }),
      depth: 3,
    },
    {
      name: "a background session's 401 on current metadata",
      input: flowInput({
        config: background,
        facts: {
          ...noFacts,
          config: background,
          challenge: { status: 401, scope: ["read"] },
          ...known,
        },
      }),
      depth: 1,
    },
    {
      name: "a background session's step-up on current metadata",
      input: flowInput({
        config: background,
        facts: { ...noFacts, config: background, challenge: stepUp, granted: ["read"], ...known },
        client: clientInfo("dynamic"),
      }),
      depth: 1,
    },
    {
      name: "a headless user agent's first authorization",
      input: flowInput({ config: headless, facts: { ...noFacts, config: headless } }),
      depth: 6,
    },
    {
      name: "a headless step-up on known metadata that offers the device grant",
      input: flowInput({
        config: headless,
        facts: {
          ...noFacts,
          config: headless,
          challenge: stepUp,
          granted: ["read"],
          ...known,
          authServer: deviceAuthServerInfo(),
        },
        client: clientInfo("dynamic"),
      }),
      depth: 2,
    },
    {
      name: "a headless step-up on known metadata without it",
      input: flowInput({
        config: headless,
        facts: { ...noFacts, config: headless, challenge: stepUp, granted: ["read"], ...known },
        client: clientInfo("dynamic"),
      }),
      depth: 1,
    },
    {
      name: "a re-registration after a refresh met invalid_client",
      input: flowInput({ reregister: true, facts: { ...noFacts, ...known } }),
      depth: 6,
    },
  ],
  events: (snapshot: AnyMachineSnapshot) => flowEvents(snapshot as FlowSnapshot),
  serialize: (snapshot: AnyMachineSnapshot) => serializeFlow(snapshot as FlowSnapshot),
  replay: replay(standaloneFlow),
});
