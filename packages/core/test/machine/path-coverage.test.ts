/**
 * Path coverage of the lifecycle (`authMachine`): its flow is one scripted step here, settled
 * with each kind of FlowOutput; the flow's own states are covered by flow-coverage.test.ts, and
 * the two together by behaviours.test.ts.
 */
import type { AnyEventObject, AnyMachineSnapshot } from "xstate";
import { authMachine } from "../../src/machine/auth-machine.js";
import type { AuthEvent, AuthInput } from "../../src/machine/model.js";
import { describeCoverage } from "./coverage.js";
import { modelEvents, serializeAbstract } from "./graph-model.js";
import {
  type AuthSnapshot,
  authServerInfo,
  clientInfo,
  drive,
  input,
  resourceInfo,
  type StepId,
  tokenInfo,
} from "./scripted.js";

/**
 * Small bounds keep the model finite and the paths short; they make no transition unreachable
 * (the defaults are exercised by behaviours.test.ts).
 */
const config = { maxAuthorizationsPerScopeSet: 1, maxRefreshRetries: 1 };

interface Scenario {
  readonly name: string;
  readonly input: AuthInput;
  /** Paths of at most this many events. */
  readonly depth: number;
}

const scenarios: readonly Scenario[] = [
  { name: "a new session", input: input(config), depth: 6 },
  ...(["client_credentials", "jwt_bearer", "cross_app_access", "device_code"] as const).map(
    (grant) => ({
      name: `a new session with the ${grant} grant`,
      input: input({ ...config, grant }),
      depth: 3,
    }),
  ),
  {
    name: "a session restored with a token",
    input: input(config, {
      resource: resourceInfo(["read", "write"]),
      authServer: authServerInfo(undefined, ["read", "write"]),
      client: clientInfo("dynamic"),
      token: tokenInfo({ scopes: ["read"] }),
    }),
    depth: 5,
  },
  {
    name: "a session restored with a token and no refresh token",
    input: input(config, {
      resource: resourceInfo(),
      authServer: authServerInfo(undefined, ["read", "write"]),
      client: clientInfo("pre-registered"),
      token: tokenInfo({ clientId: "static-client", hasRefreshToken: false }),
    }),
    depth: 3,
  },
];

describeCoverage<AuthInput>({
  name: "authMachine",
  machine: authMachine,
  scenarios,
  events: (snapshot: AnyMachineSnapshot) => modelEvents(snapshot as AuthSnapshot),
  serialize: (snapshot: AnyMachineSnapshot) => serializeAbstract(snapshot as AuthSnapshot),
  replay: (machineInput) => {
    const driven = drive(machineInput, authMachine, "lifecycle");
    return {
      taken: driven.taken,
      snapshot: driven.snapshot,
      apply: async (event: AnyEventObject) => {
        if (event.type.startsWith("xstate.done.actor.")) {
          await driven.resolve(event.type.slice(18) as StepId, event.output);
        } else if (event.type.startsWith("xstate.error.actor.")) {
          await driven.reject(event.type.slice(19) as StepId, event.error);
        } else if (event.type.startsWith("xstate.after.")) {
          driven.elapse();
        } else {
          driven.send(event as AuthEvent);
        }
      },
      stop: () => driven.actor.stop(),
    };
  },
});
