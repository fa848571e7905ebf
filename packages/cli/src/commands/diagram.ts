/**
 * `authchart diagram`: the statechart, drawn from the machine itself — Mermaid
 * (`stateDiagram-v2`, the renderer docs/state-diagram.md is generated with), or with --json the
 * machine's definition (`machine.toJSON()`) to paste into Stately's editor or inspect.
 *
 * The Mermaid renderer is core's `@authchart/core/diagram` (pure functions, no I/O), the one
 * docs/state-diagram.md is written with: one renderer for the docs and the CLI.
 */

import {
  authMachine,
  authorizationCodeFlow,
  clientCredentialsFlow,
  crossAppAccessFlow,
  deviceAuthorizationFlow,
  jwtBearerFlow,
} from "@authchart/core";
import { toMermaid } from "@authchart/core/diagram";
import { Command, Options } from "@effect/cli";
import { Effect } from "effect";
import type { AnyStateMachine } from "xstate";
import { runCommand } from "../command.js";
import * as Shared from "../options.js";
import { Output } from "../output.js";

const charts = {
  lifecycle: authMachine,
  "authorization-code": authorizationCodeFlow,
  "client-credentials": clientCredentialsFlow,
  "jwt-bearer": jwtBearerFlow,
  "cross-app-access": crossAppAccessFlow,
  "device-authorization": deviceAuthorizationFlow,
} as const satisfies Record<string, AnyStateMachine>;
type ChartName = keyof typeof charts;

const chart = Options.choice("chart", Object.keys(charts) as [ChartName, ...ChartName[]]).pipe(
  Options.withDefault("lifecycle" as ChartName),
  Options.withDescription(
    "Which statechart: the lifecycle, or the child flow of one grant (run inside `obtaining`).",
  ),
);

export const diagram = Command.make("diagram", { chart, json: Shared.json }, (args) =>
  runCommand(
    args,
    Effect.gen(function* () {
      const output = yield* Output;
      const machine = charts[args.chart];
      if (output.json) return yield* output.document(machine.toJSON());
      yield* output.print(toMermaid(machine));
    }),
  ),
).pipe(
  Command.withDescription(
    "Draw the statechart: Mermaid stateDiagram-v2, or with --json the machine's definition for Stately's editor.",
  ),
);
