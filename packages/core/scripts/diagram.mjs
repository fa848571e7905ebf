#!/usr/bin/env node
/**
 * docs/state-diagram.md, generated from the statechart itself: a Mermaid `stateDiagram-v2` of
 * every state node (nested ones inside their parent), every transition labelled with its event —
 * `after <delay>` for timers, `always` for eventless ones — its guard and its actions, every
 * invoked actor and entry action, then the same transitions as a table in the order xstate tries
 * them. `toMermaid` and `renderDocument` are pure; the test (test/machine/diagram.test.ts)
 * renders the source machine and compares. Run `npm run diagram` to regenerate the file: it builds
 * the package and renders the built machine.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";

/**
 * @typedef {import("xstate").AnyStateMachine} AnyStateMachine
 * @typedef {import("xstate").AnyStateNode} AnyStateNode
 * @typedef {import("xstate").AnyTransitionDefinition} AnyTransitionDefinition
 */

/** Actions left out of labels: the decision trace is emitted by nearly every transition. */
const QUIET_ACTIONS = new Set(["trace"]);

/**
 * State nodes below `node`, parents before children, in document order.
 * @param {AnyStateNode} node
 * @returns {AnyStateNode[]}
 */
const descendants = (node) =>
  Object.values(node.states).flatMap((child) => [child, ...descendants(child)]);

/**
 * A guard as written: a named guard, or and/or/not of guards.
 * @param {unknown} guard
 * @returns {string}
 */
export const guardName = (guard) => {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") {
    const composed = /** @type {{ guards?: unknown[]; name: string }} */ (guard);
    if (Array.isArray(composed.guards)) {
      return `${composed.name}(${composed.guards.map(guardName).join(", ")})`;
    }
    return composed.name || "(inline)";
  }
  if (typeof guard === "object" && guard !== null && "type" in guard) return String(guard.type);
  return "(inline)";
};

/**
 * An action's name; inline functions and xstate's built-ins (raise/cancel for `after`) have none.
 * @param {unknown} action
 * @returns {string | undefined}
 */
const actionName = (action) => {
  if (typeof action === "string") return action;
  if (typeof action === "object" && action !== null && "type" in action) {
    return String(action.type);
  }
  return undefined;
};

/**
 * @param {readonly unknown[]} actions
 * @returns {string[]}
 */
const actionNames = (actions) =>
  actions
    .map(actionName)
    .filter(
      /** @returns {name is string} */ (name) => name !== undefined && !QUIET_ACTIONS.has(name),
    );

/**
 * @typedef {object} TransitionRow
 * @property {AnyStateNode} source
 * @property {string} event  the event as a reader names it: `after <delay>`, `always`, or its type
 * @property {number} index  its place among the candidates for that event (first match wins)
 * @property {number} of     how many candidates that event has in that state
 * @property {string} guard  the guard, `else` for an unguarded candidate after guarded ones
 * @property {AnyStateNode[]} targets  empty: no state change (actions only)
 * @property {boolean} reenter
 * @property {string[]} actions
 */

/**
 * Every transition of the machine, each guarded candidate of each event, `after` and `always`
 * included, in the order xstate reads them.
 * @param {AnyStateMachine} machine
 * @returns {TransitionRow[]}
 */
export const transitionRows = (machine) =>
  [machine.root, ...descendants(machine.root)].flatMap((source) => {
    /** @type {Array<[string, readonly AnyTransitionDefinition[]]>} */
    const groups = [...source.transitions.entries()];
    if (source.always) groups.push(["", source.always]);
    return groups.flatMap(([eventType, candidates]) =>
      candidates.map((t, index) => {
        const delay = /** @type {{ delay?: unknown }} */ (t).delay;
        return {
          source,
          event:
            eventType === ""
              ? "always"
              : delay !== undefined && eventType.startsWith("xstate.after.")
                ? `after ${String(delay)}`
                : eventType,
          index,
          of: candidates.length,
          guard: t.guard !== undefined ? guardName(t.guard) : index > 0 ? "else" : "",
          targets: /** @type {AnyStateNode[]} */ (t.target ?? []),
          reenter: t.reenter,
          actions: actionNames(t.actions),
        };
      }),
    );
  });

/**
 * Mermaid ids: the state's key where no other state has it, else its path joined with `_`.
 * @param {AnyStateMachine} machine
 */
const mermaidIds = (machine) => {
  const nodes = descendants(machine.root);
  /** @type {Map<string, number>} */
  const keys = new Map();
  for (const node of nodes) keys.set(node.key, (keys.get(node.key) ?? 0) + 1);
  /** @type {Map<AnyStateNode, string>} */
  const ids = new Map();
  for (const node of nodes) {
    ids.set(node, keys.get(node.key) === 1 ? node.key : node.path.join("_"));
  }
  return ids;
};

/**
 * @param {TransitionRow} row
 * @returns {string}
 */
const label = (row) => {
  let text = row.event;
  if (row.guard) text += ` [${row.guard}]`;
  if (row.reenter) text += " (re-enter)";
  if (row.actions.length > 0) text += ` / ${row.actions.join(", ")}`;
  // Mermaid ends a label at a newline and reads `;` and `#` specially.
  return text.replaceAll(/[;#\n]/g, " ");
};

/**
 * The machine as a Mermaid stateDiagram-v2.
 * @param {AnyStateMachine} machine
 * @returns {string}
 */
export const toMermaid = (machine) => {
  const ids = mermaidIds(machine);
  /** @param {AnyStateNode} node */
  const id = (node) => ids.get(node) ?? node.key;
  /** @type {string[]} */
  const lines = ["stateDiagram-v2"];

  /**
   * @param {AnyStateNode} parent
   * @param {string} indent
   */
  const declare = (parent, indent) => {
    const initial = parent.initial?.target?.[0];
    if (initial) lines.push(`${indent}[*] --> ${id(initial)}`);
    for (const node of Object.values(parent.states)) {
      if (id(node) !== node.key) lines.push(`${indent}state "${node.key}" as ${id(node)}`);
      for (const name of actionNames(node.entry))
        lines.push(`${indent}${id(node)} : entry ${name}`);
      for (const invoke of node.invoke) {
        lines.push(
          `${indent}${id(node)} : invoke ${invoke.src}${invoke.id !== invoke.src ? ` (${invoke.id})` : ""}`,
        );
      }
      for (const name of actionNames(node.exit)) lines.push(`${indent}${id(node)} : exit ${name}`);
      if (node.type === "final") lines.push(`${indent}${id(node)} --> [*]`);
      if (Object.keys(node.states).length > 0) {
        lines.push(`${indent}state ${id(node)} {`);
        declare(node, `${indent}  `);
        lines.push(`${indent}}`);
      }
    }
  };
  declare(machine.root, "  ");

  // One arrow per transition; unguarded ones between the same states with the same actions share
  // an arrow (e.g. `challenge.received, token.expired / answerWait` while a flow runs).
  /** @type {Map<string, { arrow: string; events: string[]; rest: string }>} */
  const arrows = new Map();
  for (const row of transitionRows(machine)) {
    if (row.source === machine.root) continue;
    const targets = row.targets.length > 0 ? row.targets : [row.source];
    for (const target of targets) {
      const arrow = `${id(row.source)} --> ${id(target)}`;
      const rest = label({ ...row, event: "" });
      const key = row.guard === "" ? `${arrow}|${rest}` : `${arrow}|#${arrows.size}`;
      const existing = arrows.get(key);
      if (existing) existing.events.push(row.event);
      else arrows.set(key, { arrow, events: [row.event], rest });
    }
  }
  for (const { arrow, events, rest } of arrows.values()) {
    lines.push(`  ${arrow} : ${events.join(", ")}${rest}`);
  }

  // Transitions of the machine itself apply in every state: a note on their target says so.
  for (const row of transitionRows(machine)) {
    if (row.source !== machine.root) continue;
    const anchor = row.targets[0] ?? Object.values(machine.root.states)[0];
    if (!anchor) continue;
    lines.push(`  note left of ${id(anchor)}`);
    lines.push(
      `    from any state: ${label(row)}${row.targets.length > 0 ? ` → ${row.targets.map((t) => t.key).join(", ")}` : ""}`,
    );
    lines.push("  end note");
  }
  return `${lines.join("\n")}\n`;
};

/**
 * @param {AnyStateNode | undefined} node
 * @param {AnyStateMachine} machine
 */
const nodeName = (node, machine) =>
  node === undefined || node === machine.root ? "(any state)" : node.path.join(".");

/**
 * Markdown-table cell text.
 * @param {string} text
 */
const cell = (text) => text.replaceAll("|", "\\|");

/**
 * One machine's section of docs/state-diagram.md: its diagram, then every transition in the
 * order xstate tries them.
 * @param {AnyStateMachine} machine
 * @param {string} heading
 * @returns {string[]}
 */
const machineSection = (machine, heading) => {
  const rows = transitionRows(machine);
  const states = descendants(machine.root);
  const table = rows.map((row) =>
    [
      nodeName(row.source, machine),
      row.event,
      row.of > 1 ? `${row.index + 1}. ${row.guard || "(none)"}` : row.guard,
      row.targets.length > 0
        ? row.targets.map((t) => nodeName(t, machine)).join(", ") +
          (row.reenter ? " (re-enter)" : "")
        : "(stays)",
      row.actions.join(", "),
    ]
      .map((text) => cell(text || "—"))
      .join(" | "),
  );
  return [
    `## ${heading}`,
    "",
    `\`${machine.id}\`: ${states.length} states, ${rows.length} transitions (each guarded candidate counted).`,
    "",
    "```mermaid",
    toMermaid(machine).trimEnd(),
    "```",
    "",
    `### ${machine.id}: transitions, in the order they are tried`,
    "",
    "| state | event | guard | target | actions |",
    "| --- | --- | --- | --- | --- |",
    ...table.map((line) => `| ${line} |`),
    "",
  ];
};

/**
 * The statecharts to draw: the lifecycle, then each grant's child flow.
 * @typedef {{ readonly lifecycle: AnyStateMachine; readonly flows: readonly AnyStateMachine[] }} Charts
 */

/**
 * docs/state-diagram.md: the lifecycle and every child flow, each with its transitions.
 * @param {Charts} charts
 * @returns {string}
 */
export const renderDocument = (charts) =>
  [
    "<!-- Generated from the statecharts by packages/core/scripts/diagram.mjs: run `npm run diagram`. Do not edit. -->",
    "",
    "# The authchart statecharts",
    "",
    "The lifecycle (`authMachine`, packages/core/src/machine/auth-machine.ts) and the child flow",
    "each grant runs inside its `obtaining` state (packages/core/src/machine/flows/). Labels read",
    "`event [guard] / actions`; `after <delay>` is a named delay, `always` an eventless transition,",
    "`xstate.done.actor.<id>` / `xstate.error.actor.<id>` the completion and failure of an invoked",
    "actor (`flow` is the child flow). The decision-trace action (`trace`) is on nearly every",
    "transition and left out. For one event in one state the candidates are tried top to bottom;",
    "the first whose guard holds is taken. A transition of a parent state applies in each of its",
    "children.",
    "",
    ...machineSection(charts.lifecycle, "The lifecycle"),
    ...charts.flows.flatMap((flow) => machineSection(flow, `The ${flow.id} flow`)),
  ].join("\n");

/** Where the document lives: docs/ at the repository root. */
export const documentPath = fileURLToPath(
  new URL("../../../docs/state-diagram.md", import.meta.url),
);

/** The README at the repository root shows the diagram between these markers. */
export const readmePath = fileURLToPath(new URL("../../../README.md", import.meta.url));
const START = "<!-- diagram:start -->";
const END = "<!-- diagram:end -->";

/**
 * The README with its diagram section replaced by the statecharts' Mermaid diagrams (pure).
 * @param {string} readme
 * @param {Charts} charts
 * @returns {string}
 */
export const withReadmeDiagram = (readme, charts) => {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  const section = [
    START,
    "The lifecycle:",
    "",
    "```mermaid",
    toMermaid(charts.lifecycle).trimEnd(),
    "```",
    ...charts.flows.flatMap((flow) => [
      "",
      `The \`${flow.id}\` flow, run by \`obtaining\`:`,
      "",
      "```mermaid",
      toMermaid(flow).trimEnd(),
      "```",
    ]),
    "",
    "Every transition, in the order xstate tries them: [docs/state-diagram.md](docs/state-diagram.md).",
    END,
  ].join("\n");
  return readme.slice(0, start) + section + readme.slice(end + END.length);
};

const main = async () => {
  // The built package (npm run build); the test renders the source machine instead.
  const core = await import("@authchart/core");
  const charts = {
    lifecycle: core.authMachine,
    flows: [
      core.authorizationCodeFlow,
      core.clientCredentialsFlow,
      core.jwtBearerFlow,
      core.crossAppAccessFlow,
      core.deviceAuthorizationFlow,
    ],
  };
  await writeFile(documentPath, renderDocument(charts));
  console.log(`wrote ${documentPath}`);
  await writeFile(readmePath, withReadmeDiagram(await readFile(readmePath, "utf8"), charts));
  console.log(`wrote the diagram section of ${readmePath}`);
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
