/**
 * `authchart diagram`: the statechart, drawn from the machine itself — Mermaid
 * (`stateDiagram-v2`, the renderer docs/state-diagram.md is generated with), or with --json the
 * machine's definition (`machine.toJSON()`) to paste into Stately's editor or inspect.
 *
 * The Mermaid renderer is core's scripts/diagram.mjs (pure functions, no I/O), loaded from the
 * installed @authchart/core rather than copied: one renderer for the docs and the CLI.
 */

import {
  authMachine,
  authorizationCodeFlow,
  clientCredentialsFlow,
  crossAppAccessFlow,
  deviceAuthorizationFlow,
  jwtBearerFlow,
} from "@authchart/core";
import { Command, Options } from "@effect/cli";
import { Effect } from "effect";
import type { AnyStateMachine } from "xstate";
import { runCommand } from "../command.js";
import { DiagramUnavailable } from "../errors.js";
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

interface Renderer {
  readonly toMermaid: (machine: AnyStateMachine) => string;
}

/** core's Mermaid renderer, next to the package's entry point (scripts/diagram.mjs). */
const loadRenderer = Effect.tryPromise({
  try: async () => {
    const url = new URL("../scripts/diagram.mjs", import.meta.resolve("@authchart/core"));
    const module = (await import(url.href)) as Partial<Renderer>;
    if (typeof module.toMermaid !== "function") throw new Error("it exports no toMermaid");
    return module as Renderer;
  },
  catch: (error) =>
    new DiagramUnavailable({
      reason: `@authchart/core's scripts/diagram.mjs cannot be loaded (${error instanceof Error ? error.message : String(error)})`,
    }),
});

export const diagram = Command.make("diagram", { chart, json: Shared.json }, (args) =>
  runCommand(
    args,
    Effect.gen(function* () {
      const output = yield* Output;
      const machine = charts[args.chart];
      if (output.json) return yield* output.document(machine.toJSON());
      const renderer = yield* loadRenderer;
      yield* output.print(renderer.toMermaid(machine));
    }),
  ),
).pipe(
  Command.withDescription(
    "Draw the statechart: Mermaid stateDiagram-v2, or with --json the machine's definition for Stately's editor.",
  ),
);
