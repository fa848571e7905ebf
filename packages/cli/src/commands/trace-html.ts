/**
 * `authchart trace FILE --html OUT`: a recorded flow as one self-contained HTML page, with the
 * probe page's look and its safety rules (probe-html.ts): everything inline, no script at all, a
 * Content-Security-Policy of `default-src 'none'` (only inline styles allowed), so the page loads
 * nothing when it is opened — offline, from a file. Every recorded value is escaped as text; no
 * recorded URL becomes a link.
 *
 * On the page: the outcome, the failed step with its typed error and what to do, each statechart
 * that ran drawn from the machine itself (core's `toSvg`) with the path this run took, a sequence
 * diagram of the HTTP exchanges grouped by phase (discovery, registration, authorization, token,
 * resource), every request with its redacted headers, and the timeline.
 */

import {
  authMachine,
  authorizationCodeFlow,
  clientCredentialsFlow,
  crossAppAccessFlow,
  deviceAuthorizationFlow,
  jwtBearerFlow,
} from "@authchart/core";
import { toSvg } from "@authchart/core/diagram";
import {
  type HttpLine,
  pathsOf,
  type RecordedError,
  type TimelineEntry,
  type TraceLine,
  timelineOf,
  type UserStep,
  userStepsOf,
} from "@authchart/core/record";
import type { AnyStateMachine } from "xstate";
import { pageStyle, pageText as t } from "./probe-html.js";

/** The statecharts a recording may name, by machine id. */
const MACHINES: ReadonlyMap<string, AnyStateMachine> = new Map(
  [
    authMachine,
    authorizationCodeFlow,
    clientCredentialsFlow,
    jwtBearerFlow,
    crossAppAccessFlow,
    deviceAuthorizationFlow,
  ].map((machine) => [machine.id, machine as AnyStateMachine]),
);

/** What the report calls out: the failed step and the typed error, with what to do. */
export interface Verdict {
  readonly ok: boolean;
  /** The flow step that failed (`authorizationCode` at `registering`), if a flow failed. */
  readonly step?: { readonly machine: string; readonly state: string } | undefined;
  readonly error?: RecordedError | undefined;
  readonly hint?: string | undefined;
}

const seconds = (from: number, at: string) => `+${((Date.parse(at) - from) / 1000).toFixed(3)} s`;

const pathOf = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return url;
  }
};

const originOf = (url: string): string => {
  try {
    return new URL(url).origin;
  } catch {
    return "(not a URL)";
  }
};

/** Text cut to what fits between two lifelines (the whole URL is in the tooltip and the table). */
const fit = (text: string, chars: number): string =>
  text.length <= chars ? text : `${text.slice(0, Math.max(8, Math.floor(chars) - 1))}…`;

const statusClass = (x: HttpLine) =>
  x.status === undefined ? "bad" : x.status < 300 ? "good" : x.status < 400 ? "" : "bad";

const answerOf = (x: HttpLine) =>
  x.status === undefined ? `${x.failure?.tag ?? "no answer"}` : String(x.status);

// ------------------------------------------------------------------- the sequence diagram

type SequenceRow =
  | { readonly kind: "http"; readonly time: string; readonly line: HttpLine }
  | { readonly kind: "user"; readonly time: string; readonly step: UserStep };

const phaseOfRow = (row: SequenceRow) => (row.kind === "http" ? row.line.phase : "authorization");

const PHASE_COLOURS: Readonly<Record<string, string>> = {
  discovery: "#eef2ff",
  registration: "#fef9c3",
  authorization: "#fce7f3",
  token: "#dcfce7",
  revocation: "#f3f4f6",
  resource: "#e0f2fe",
  other: "#f3f4f6",
};

/** Who is at an origin, by the phases of the requests sent there. */
const roleOf = (phases: ReadonlySet<string>): string => {
  const resource = phases.has("resource");
  const as = ["registration", "authorization", "token", "revocation"].some((p) => phases.has(p));
  if (resource && as) return "MCP server + authorization server";
  if (resource) return "MCP server";
  if (as) return "authorization server";
  return "server";
};

const sequenceSvg = (exchanges: readonly HttpLine[], userSteps: readonly UserStep[]): string => {
  const rows: SequenceRow[] = [
    ...exchanges.map((line) => ({ kind: "http" as const, time: line.time, line })),
    ...userSteps.map((step) => ({ kind: "user" as const, time: step.time, step })),
  ].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  if (rows.length === 0) return "<p>No request was recorded.</p>";
  const origins: string[] = [];
  const phasesAt = new Map<string, Set<string>>();
  for (const x of exchanges) {
    const origin = originOf(x.url);
    if (!origins.includes(origin)) origins.push(origin);
    const phases = phasesAt.get(origin) ?? new Set<string>();
    phases.add(x.phase);
    phasesAt.set(origin, phases);
  }
  const participants = [
    { key: "client", title: "authchart", subtitle: "the client" },
    ...origins.map((origin) => ({
      key: origin,
      title: roleOf(phasesAt.get(origin) ?? new Set()),
      subtitle: origin,
    })),
    ...(userSteps.length > 0 ? [{ key: "browser", title: "the user", subtitle: "browser" }] : []),
  ];
  const BAND = 120;
  const COLUMN = 230;
  const TOP = 56;
  const ROW = 34;
  const xOf = (key: string) => BAND + 90 + participants.findIndex((p) => p.key === key) * COLUMN;
  const width = BAND + 90 + (participants.length - 1) * COLUMN + 130;
  const height = TOP + rows.length * ROW + 20;
  const parts: string[] = [];
  // Phase bands: runs of consecutive rows of one phase.
  let start = 0;
  rows.forEach((row, index) => {
    const next = rows[index + 1];
    if (next !== undefined && phaseOfRow(next) === phaseOfRow(row)) return;
    const phase = phaseOfRow(row);
    const y = TOP + start * ROW - 6;
    const h = (index - start + 1) * ROW;
    parts.push(
      `<g class="phase" data-phase="${t(phase)}"><rect x="0" y="${y}" width="${width}" height="${h}" fill="${PHASE_COLOURS[phase] ?? "#f3f4f6"}"/><text x="8" y="${y + 18}" font-size="12" font-weight="700" fill="#374151">${t(phase)}</text></g>`,
    );
    start = index + 1;
  });
  for (const p of participants) {
    const x = xOf(p.key);
    parts.push(
      `<g class="participant"><text x="${x}" y="16" font-size="13" font-weight="700" text-anchor="middle">${t(p.title)}</text><text x="${x}" y="32" font-size="11" fill="#555" text-anchor="middle">${t(p.subtitle)}</text><line x1="${x}" y1="40" x2="${x}" y2="${height}" stroke="#9ca3af" stroke-dasharray="4 3"/></g>`,
    );
  }
  const client = xOf("client");
  rows.forEach((row, index) => {
    const y = TOP + index * ROW + 14;
    if (row.kind === "http") {
      const x = row.line;
      const to = xOf(originOf(x.url));
      const colour =
        x.status === undefined || x.status >= 400
          ? "#a4262c"
          : x.status >= 300
            ? "#b7791f"
            : "#1e6b34";
      parts.push(
        `<g class="exchange" data-phase="${t(x.phase)}"><title>${t(`${x.method} ${x.url} → ${answerOf(x)} (${x.durationMillis} ms)`)}</title>` +
          `<line x1="${client}" y1="${y}" x2="${to - 4}" y2="${y}" stroke="#374151" stroke-width="1.4" marker-end="url(#seq-arrow)"/>` +
          `<text x="${(client + to) / 2}" y="${y - 4}" font-size="11" text-anchor="middle">${t(fit(`${x.method} ${pathOf(x.url)}`, (to - client) / 6.4))}</text>` +
          `<text x="${to + 8}" y="${y + 4}" font-size="12" font-weight="700" fill="${colour}">${t(answerOf(x))}</text>` +
          `<text x="${to + 8}" y="${y + 16}" font-size="10" fill="#555">${t(`${x.durationMillis} ms`)}</text></g>`,
      );
    } else {
      const to = xOf("browser");
      const step = row.step;
      const label = step.state.endsWith("awaitingUser")
        ? "the user enters the code"
        : "sign-in and consent";
      parts.push(
        `<g class="exchange user" data-phase="authorization"><title>${t(`${step.machine} ${step.state} → ${step.next ?? "(still waiting)"}`)}</title>` +
          `<line x1="${client}" y1="${y}" x2="${to - 4}" y2="${y}" stroke="#9d174d" stroke-width="1.4" stroke-dasharray="6 3" marker-end="url(#seq-arrow)"/>` +
          `<text x="${(client + to) / 2}" y="${y - 4}" font-size="11" text-anchor="middle">${t(label)}</text>` +
          `<text x="${to + 8}" y="${y + 4}" font-size="11" fill="#9d174d">${t(step.next === undefined ? "no answer" : `→ ${step.next}`)}</text></g>`,
      );
    }
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" class="sequence" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="the HTTP exchanges, by phase" font-family="system-ui, sans-serif"><defs><marker id="seq-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#374151"/></marker></defs>${parts.join("")}</svg>`;
};

// ------------------------------------------------------------------------------ the page

const headerTable = (headers: Readonly<Record<string, string>> | undefined) =>
  headers === undefined
    ? '<span class="none">none</span>'
    : `<table class="headers">${Object.entries(headers)
        .map(([name, value]) => `<tr><th>${t(name)}</th><td><code>${t(value)}</code></td></tr>`)
        .join("")}</table>`;

const exchangeRow = (x: HttpLine, from: number) =>
  `<tr class="request" data-phase="${t(x.phase)}"><td>${t(seconds(from, x.time))}</td><td>${t(x.phase)}</td><td>${t(x.method)}</td><td><code>${t(x.url)}</code><details><summary>headers</summary><h4>sent</h4>${headerTable(x.requestHeaders)}<h4>received</h4>${headerTable(x.responseHeaders)}</details></td><td class="${statusClass(x)}">${t(answerOf(x))}${x.failure === undefined ? "" : `<div class="value">${t(x.failure.message)}</div>`}</td><td>${t(x.durationMillis)} ms</td></tr>`;

const timelineRow = (entry: TimelineEntry, from: number): string => {
  switch (entry.kind) {
    case "start":
      return "";
    case "state":
      return `<tr class="state-entry"><td>${t(seconds(from, entry.time))}</td><td>state</td><td><code>${t(entry.machine)}</code></td><td><b>${t(entry.state)}</b></td></tr>`;
    case "decision":
      return `<tr class="decision-entry"><td>${t(seconds(from, entry.line.time))}</td><td>decision</td><td><code>${t(entry.line.decision)}</code></td><td>${t(entry.line.reason)}</td></tr>`;
    case "http":
      return `<tr class="http-entry"><td>${t(seconds(from, entry.line.time))}</td><td>request</td><td>${t(entry.line.phase)}</td><td>${t(entry.line.method)} <code>${t(entry.line.url)}</code> → <b class="${statusClass(entry.line)}">${t(answerOf(entry.line))}</b></td></tr>`;
    case "failure":
      return `<tr class="failure-entry"><td>${t(seconds(from, entry.time))}</td><td class="bad">failed</td><td><code>${t(entry.machine)}</code></td><td>at <b>${t(entry.step)}</b>${entry.error === undefined ? "" : `: <code>${t(entry.error.tag)}</code> ${t(entry.error.message)}`}</td></tr>`;
    case "outcome":
      return `<tr class="outcome-entry"><td>${t(seconds(from, entry.line.time))}</td><td>end</td><td class="${entry.line.ok ? "good" : "bad"}">${entry.line.ok ? "succeeded" : "failed"}</td><td>${entry.line.error === undefined ? "" : `<code>${t(entry.line.error.tag)}</code> ${t(entry.line.error.message)}`}</td></tr>`;
  }
};

const EXTRA_STYLE = `
body{max-width:84rem}#requests th,#timeline th{width:auto}#requests td:nth-child(4){min-width:24rem}
.good{color:#1e6b34}.bad{color:#a4262c;font-weight:600}
.failure{border-left:4px solid #a4262c;background:#fdecea;padding:.5rem 1rem;margin:1rem 0}
figure{margin:1rem 0;overflow-x:auto}figcaption{color:#555;font-size:13px}
.scroll{overflow-x:auto}details summary{cursor:pointer;color:#555;font-size:13px}
table.headers th{width:12rem;font-weight:400;color:#555}h4{margin:.4rem 0 .2rem;font-size:13px}
.legend span{display:inline-block;padding:0 .4rem;margin-right:.4rem;border-radius:3px}
`;

export interface TraceReportInput {
  readonly lines: readonly TraceLine[];
  readonly verdict: Verdict;
  /** The file the recording was read from (shown as text). */
  readonly source: string;
}

/** The recording as a self-contained page (no script, nothing loaded at view time). */
export const renderTraceHtml = ({ lines, verdict, source }: TraceReportInput): string => {
  const timeline = timelineOf(lines);
  const start = lines[0];
  const from = start === undefined ? 0 : Date.parse(start.time);
  const serverUrl = start?.kind === "start" ? start.serverUrl : undefined;
  const exchanges = lines.filter((line): line is HttpLine => line.kind === "http");
  const userSteps = userStepsOf(timeline);
  const paths = pathsOf(lines);
  const lastState = new Map<string, string>();
  for (const entry of timeline)
    if (entry.kind === "state") lastState.set(entry.machine, `${entry.machine}.${entry.state}`);

  const charts = [...paths.values()]
    .filter((path) => MACHINES.has(path.machine))
    .map((path) => {
      const machine = MACHINES.get(path.machine) as AnyStateMachine;
      const taken = path.transitions.filter((tr) => tr.source !== tr.target);
      return `<figure id="chart-${t(path.machine)}"><figcaption><b>${t(path.machine === authMachine.id ? "The lifecycle" : `The ${path.machine} flow`)}</b> (<code>${t(path.machine)}</code>): ${path.visited.size} states visited, ${taken.length} transitions taken, numbered in order; the rest of the chart in grey (hover for events and guards).</figcaption>${toSvg(
        machine,
        {
          visited: path.visited,
          transitions: path.transitions,
          last: lastState.get(path.machine),
        },
        `the ${path.machine} statechart with this run's path`,
      )}</figure>`;
    })
    .join("");
  const unknownMachines = [...paths.keys()].filter((id) => !MACHINES.has(id));

  const failure = verdict.ok
    ? ""
    : `<section class="failure" id="failure"><h2>What failed</h2>${
        verdict.step === undefined
          ? ""
          : `<p>The step: <code>${t(verdict.step.machine)}</code> at <b>${t(verdict.step.state)}</b></p>`
      }${
        verdict.error === undefined
          ? ""
          : `<p>The error: <code class="error-tag">${t(verdict.error.tag)}</code> ${t(verdict.error.message)}</p>`
      }${verdict.hint === undefined ? "" : `<p>What to do: ${t(verdict.hint)}</p>`}</section>`;

  const phases = ["discovery", "registration", "authorization", "token", "revocation", "resource"];
  const counts = phases
    .map((phase) => [phase, exchanges.filter((x) => x.phase === phase).length] as const)
    .filter(([, n]) => n > 0);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>authchart trace${serverUrl === undefined ? "" : `: ${t(serverUrl)}`}</title><style>${pageStyle}${EXTRA_STYLE}</style></head>
<body>
<h1>authchart trace${serverUrl === undefined ? "" : ` <code>${t(serverUrl)}</code>`}</h1>
<p>Recorded ${t(start?.time)} · ${exchanges.length} request${exchanges.length === 1 ? "" : "s"} · from <code>${t(source)}</code></p>
<p class="verdict ${verdict.ok ? "clean" : "pitfalls"}" id="verdict">${
    verdict.ok
      ? "The flow succeeded."
      : `The flow failed${verdict.error === undefined ? "" : `: ${t(verdict.error.tag)}`}.`
  }</p>
${failure}
<h2>The statecharts</h2>
${charts || "<p>No statechart was recorded.</p>"}${
  unknownMachines.length === 0
    ? ""
    : `<p class="none">Also recorded, not drawn (not a statechart of this version): ${unknownMachines.map((id) => `<code>${t(id)}</code>`).join(" ")}</p>`
}
<h2>The HTTP exchanges, by phase</h2>
<p class="legend">${counts.map(([phase, n]) => `<span style="background:${PHASE_COLOURS[phase]}">${t(phase)}: ${n}</span>`).join("")}${userSteps.length > 0 ? `<span style="background:${PHASE_COLOURS.authorization}">in the browser: ${userSteps.length}</span>` : ""}</p>
<div class="scroll">${sequenceSvg(exchanges, userSteps)}</div>
<h2>Requests</h2>
<p class="none">Query values are shown as …; credentials (Authorization, DPoP, cookies, session ids, anything shaped like a token) as &lt;redacted&gt;. Bodies are not recorded.</p>
<table id="requests"><tr><th>at</th><th>phase</th><th>method</th><th>URL</th><th>answer</th><th>took</th></tr>${exchanges.map((x) => exchangeRow(x, from)).join("")}</table>
<h2>Timeline</h2>
<table id="timeline"><tr><th>at</th><th>what</th><th>where</th><th></th></tr>${timeline.map((entry) => timelineRow(entry, from)).join("")}</table>
<p class="none">authchart.trace/1 · written by authchart trace</p>
</body></html>
`;
};

/** The verdict of a recording: its outcome, else the last flow failure it recovered from. */
export const verdictOf = (
  lines: readonly TraceLine[],
  hintFor: (error: RecordedError) => string,
): Verdict => {
  const timeline = timelineOf(lines);
  const outcome = lines.findLast((line) => line.kind === "outcome");
  const failures = timeline.filter(
    (entry): entry is Extract<TimelineEntry, { kind: "failure" }> =>
      entry.kind === "failure" && entry.machine !== authMachine.id,
  );
  const lastFailure = failures.at(-1);
  const step =
    lastFailure === undefined
      ? undefined
      : { machine: lastFailure.machine, state: lastFailure.step };
  if (outcome?.kind === "outcome" && !outcome.ok) {
    const error = outcome.error ?? lastFailure?.error;
    return {
      ok: false,
      step,
      error,
      hint: outcome.hint ?? (error === undefined ? undefined : hintFor(error)),
    };
  }
  if (outcome === undefined && lastFailure !== undefined)
    return {
      ok: false,
      step,
      error: lastFailure.error,
      hint: lastFailure.error === undefined ? undefined : hintFor(lastFailure.error),
    };
  return { ok: true };
};
