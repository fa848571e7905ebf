/**
 * `authchart probe <url>`: what an MCP server's authorization advertises and where clients trip,
 * without signing in — core's `@authchart/core/check` fetches every discovery location (each
 * request recorded) and judges the pitfalls; this prints the report (text, `--json`, or a page
 * with `--html OUT`) and exits 0 when there is no pitfall, 6 when there are (for CI; with
 * `--fail-on error`, only when one is an error), 2 for a bad URL, 4 when the server cannot be
 * reached. No credential is used or stored.
 */
import {
  type AdvertisedAuthServer,
  type Evidence,
  type Pitfall,
  type ProbeReport,
  probePolicy,
  probeServer,
  reportProbe,
} from "@authchart/core/check";
import { OAuthHttp } from "@authchart/core/internals";
import { Command, Options } from "@effect/cli";
import * as FileSystem from "@effect/platform/FileSystem";
import { Effect, Option } from "effect";
import { CommandFailed, runCommand } from "../command.js";
import { ExitCode, UsageError } from "../errors.js";
import * as Shared from "../options.js";
import {
  bold,
  dim,
  green,
  line,
  Output,
  type OutputService,
  red,
  sanitize,
  yellow,
} from "../output.js";
import { renderProbeHtml } from "./probe-html.js";

const html = Options.file("html").pipe(
  Options.withDescription(
    "Also write the report as one self-contained HTML page to this file (works offline: no script, nothing loaded).",
  ),
  Options.optional,
);

const failOn = Options.choice("fail-on", ["warning", "error"]).pipe(
  Options.withDefault("warning" as const),
  Options.withDescription(
    "Which pitfalls fail the command (exit 6): every one (warning, the default), or errors only (error): warnings are then reported and the command exits 0.",
  ),
);

/** Does the report fail the command: a pitfall at `level` or above (an error is above a warning). */
export const failsOn = (pitfalls: readonly Pitfall[], level: "warning" | "error"): boolean =>
  pitfalls.some((p) => level === "warning" || p.severity === "error");

const words = (values: readonly string[] | undefined, none = "not advertised"): string =>
  values === undefined ? none : values.length === 0 ? "none" : values.join(" ");

const field = (name: string, value: string) => line(dim(`    ${name.padEnd(22)}`), sanitize(value));

const sayAuthServer = (output: OutputService, as: AdvertisedAuthServer) =>
  Effect.gen(function* () {
    yield* output.say(line("  ", bold(sanitize(as.issuer))));
    if (as.refused !== undefined) return yield* output.say(field("refused", as.refused));
    if (as.metadataUrl === undefined) return yield* output.say(field("metadata", "not found"));
    yield* output.say(
      field("metadata", `${as.metadataUrl}${as.redirected ? " (behind a redirect)" : ""}`),
    );
    const r = as.registration;
    if (r !== undefined)
      yield* output.say(
        field(
          "registration",
          `pre-registered; client ID metadata documents: ${r.clientIdMetadataDocument ? "yes" : "no"}; dynamic: ${r.dynamic ?? "no"}`,
        ),
      );
    yield* output.say(field("PKCE methods", words(as.pkceMethods)));
    yield* output.say(
      field(
        "iss parameter",
        as.issParameter === undefined ? "not advertised" : as.issParameter ? "yes" : "no",
      ),
    );
    yield* output.say(field("DPoP algorithms", words(as.dpopAlgorithms, "not offered")));
    yield* output.say(field("grant types", words(as.grantTypes)));
    yield* output.say(field("token endpoint auth", words(as.tokenEndpointAuthMethods)));
    yield* output.say(field("scopes", words(as.scopesSupported)));
  });

const evidenceLine = (e: Evidence) =>
  line(
    dim("      "),
    sanitize(
      [
        e.url,
        e.status === undefined ? undefined : `→ ${e.status}`,
        e.location === undefined ? undefined : `→ ${e.location}`,
        e.value === undefined ? undefined : `  ${e.value}`,
      ]
        .filter((part) => part !== undefined)
        .join(" "),
    ),
  );

const sayPitfall = (output: OutputService, p: Pitfall) =>
  Effect.gen(function* () {
    const mark = p.severity === "error" ? red("✗ error  ") : yellow("! warning");
    yield* output.say(line("  ", mark, " ", bold(p.id)));
    yield* output.say(line("    ", sanitize(p.summary)));
    for (const e of p.evidence) yield* output.say(evidenceLine(e));
    yield* output.say(line(dim(`      see ${p.see}`)));
  });

const sayReport = (output: OutputService, report: ProbeReport) =>
  Effect.gen(function* () {
    const a = report.advertised;
    const c = a.challenge;
    yield* output.say(line(bold("probe "), sanitize(report.server)));
    yield* output.say(line(""));
    yield* output.say(bold("advertised"));
    yield* output.say(
      field(
        "without a token",
        c.status === undefined
          ? "no answer"
          : `${c.status}${c.protected ? "" : " (no authorization asked for)"}${c.scheme === undefined ? "" : `, ${c.scheme} challenge`}${c.scope === undefined ? "" : `, scope "${c.scope.join(" ")}"`}`,
      ),
    );
    const prm = a.resourceMetadata;
    if (prm === undefined)
      yield* output.say(
        field(
          "resource metadata",
          a.legacy ? "not found (the origin was probed as a 2025-03-26 server)" : "not found",
        ),
      );
    else {
      yield* output.say(
        field(
          "resource metadata",
          `${prm.metadataUrl}${prm.redirected ? " (behind a redirect)" : ""}`,
        ),
      );
      yield* output.say(field("resource", prm.resource));
      yield* output.say(field("authorization servers", words(prm.authorizationServers, "none")));
      yield* output.say(field("scopes", words(prm.scopesSupported)));
    }
    for (const as of a.authorizationServers) yield* sayAuthServer(output, as);
    yield* output.say(line(""));
    if (report.pitfalls.length === 0) {
      yield* output.say(line(green("no pitfalls found")));
    } else {
      yield* output.say(bold(`pitfalls (${report.pitfalls.length})`));
      for (const p of report.pitfalls) yield* sayPitfall(output, p);
    }
    yield* output.say(line(""));
    yield* output.say(bold(`requests (${report.exchanges.length})`));
    for (const x of report.exchanges)
      yield* output.say(
        line(
          dim("  "),
          sanitize(
            `${x.method.padEnd(4)} ${x.url} ${x.status === undefined ? `(${x.failure ?? "no answer"})` : `→ ${x.status}`}${x.location === undefined ? "" : ` → ${x.location}`}`,
          ),
        ),
      );
  });

const writeHtml = (path: string, report: ProbeReport) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    yield* fs.writeFileString(path, renderProbeHtml(report)).pipe(
      Effect.mapError(
        (error) =>
          new UsageError({
            reason: `cannot write the report to ${path}: ${error.message}`,
            hint: "give --html a file in a directory you can write to",
          }),
      ),
    );
  });

export const probe = Command.make(
  "probe",
  { url: Shared.serverUrl, html, failOn, json: Shared.json },
  (args) => {
    let failed = false;
    return runCommand(
      args,
      Effect.gen(function* () {
        const output = yield* Output;
        const serverUrl = yield* Shared.checkServerUrl(args.url);
        const record = yield* output.waiting(
          `probing ${serverUrl}`,
          probeServer(serverUrl).pipe(Effect.provide(OAuthHttp.layerFetch(probePolicy(serverUrl)))),
        );
        const report = reportProbe(record);
        failed = failsOn(report.pitfalls, args.failOn);
        const out = Option.getOrUndefined(args.html);
        if (out !== undefined) {
          yield* writeHtml(out, report);
          yield* output.note(line(dim(`wrote the report to ${sanitize(out)}`)));
        }
        if (output.json) return yield* output.document({ ok: true, ...report });
        yield* sayReport(output, report);
      }),
    ).pipe(
      Effect.zipRight(
        Effect.suspend(() =>
          failed ? Effect.fail(new CommandFailed({ code: ExitCode.pitfalls })) : Effect.void,
        ),
      ),
    );
  },
).pipe(
  Command.withDescription(
    "Check an MCP server's authorization without signing in: what it advertises (resource metadata, authorization servers, registration, PKCE, iss, DPoP, grants, scopes) and each pitfall clients trip on, with the evidence. Exit 0: no pitfall; 6: pitfalls found (with --fail-on error: errors found); 2: a bad URL; 4: the server cannot be reached. --json: one document (schema authchart.probe/1).",
  ),
);
