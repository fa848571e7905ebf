/**
 * `authchart demo`: the whole lifecycle against real servers on loopback — @authchart/testkit's
 * authorization server (oidc-provider) and MCP server (@modelcontextprotocol/sdk), in this
 * process — with a scripted user who signs in and consents. Each decision of the statechart is
 * printed with its reason as it is taken, scene by scene: discovery, registration and
 * authorization; a 403 insufficient_scope and the step-up; an expired token and the refresh (one
 * for many concurrent calls); a declined scope ending in the named error. Nothing is written to
 * the user's configuration directory (the session's store is in memory).
 *
 * The demo checks itself: a scene that goes otherwise than scripted ends it with DemoDiverged.
 */

import {
  type AuthchartError,
  type ClientSettings,
  createSession,
  type TraceEntry,
} from "@authchart/core";
import type { Testkit } from "@authchart/testkit";
import { Command } from "@effect/cli";
import { Effect, Either } from "effect";
import { runCommand } from "../command.js";
import { DemoDiverged } from "../errors.js";
import { startInspector } from "../inspect.js";
import { connectMcp, mcpAttempt } from "../mcp.js";
import * as Shared from "../options.js";
import { bold, cyan, dim, green, line, Output, red, sanitize, yellow } from "../output.js";
import { attempt, traceLine } from "../session.js";

interface SceneRecord {
  readonly title: string;
  readonly trace: TraceEntry[];
  outcome?: unknown;
}

const countsOf = (kit: Testkit) => {
  const mcp = kit.requests.filter((r) => r.kind === "mcp");
  return {
    mcpRequests: mcp.length,
    mcp401: mcp.filter((r) => r.status === 401).length,
    mcp403: mcp.filter((r) => r.status === 403).length,
    metadata: kit.count("prm") + kit.count("as-metadata"),
    registrations: kit.count("registration"),
    authorizations: kit.user.authorizations,
    tokenRequests: kit.count("token"),
    refreshes: kit.requests.filter((r) => r.kind === "token" && r.grantType === "refresh_token")
      .length,
  };
};

const countsText = (c: ReturnType<typeof countsOf>) =>
  `mcp=${c.mcpRequests} (401: ${c.mcp401}, 403: ${c.mcp403}) metadata=${c.metadata} registrations=${c.registrations} authorizations=${c.authorizations} token=${c.tokenRequests} (refresh: ${c.refreshes})`;

/**
 * The testkit, loaded when the demo runs (the other commands do not need an authorization server).
 * oidc-provider warns at import on a Node release other than 22+ LTS; authchart supports Node 20,
 * and a warning about the demo's own server would only confuse, so that one line is dropped.
 */
const loadTestkit = async () => {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (
      typeof args[0] === "string" &&
      args[0].includes("oidc-provider WARNING: Unsupported runtime")
    )
      return;
    warn(...args);
  };
  try {
    return await import("@authchart/testkit");
  } finally {
    console.warn = warn;
  }
};

const decisions = (scene: SceneRecord) => scene.trace.map((entry) => entry.decision);

export const demo = Command.make("demo", { json: Shared.json, inspect: Shared.inspect }, (args) =>
  runCommand(
    args,
    Effect.gen(function* () {
      const output = yield* Output;
      const kit = yield* Effect.acquireRelease(
        output.waiting(
          "starting the authorization server and the MCP server on loopback",
          attempt("starting the testkit", async () =>
            (await loadTestkit()).startTestkit({ mcp: { challengeScope: ["mcp:read"] } }),
          ),
        ),
        (kit) => Effect.promise(() => kit.close()),
      );
      yield* output.say(
        line(bold("authchart demo"), ": the OAuth lifecycle of an MCP client, step by step"),
      );
      yield* output.say(line(dim("  MCP server            "), kit.mcpUrl));
      yield* output.say(line(dim("  authorization server  "), kit.issuer));

      const scenes: SceneRecord[] = [];
      let current: SceneRecord | undefined;
      // Trace lines as they come; a run of one repeated line (many concurrent calls) is folded.
      let pending: { text: TraceEntry; count: number } | undefined;
      const flush = () => {
        if (pending === undefined) return;
        const { text, count } = pending;
        pending = undefined;
        Effect.runSync(
          output.say(count > 1 ? line(traceLine(text), dim(` (×${count})`)) : traceLine(text)),
        );
      };
      const onTrace = (entry: TraceEntry) => {
        current?.trace.push(entry);
        if (
          pending &&
          pending.text.decision === entry.decision &&
          pending.text.reason === entry.reason
        )
          pending.count++;
        else {
          flush();
          pending = { text: entry, count: 1 };
        }
      };
      const scene = <A, E, R>(title: string, body: Effect.Effect<A, E, R>) =>
        Effect.gen(function* () {
          current = { title, trace: [] };
          scenes.push(current);
          yield* output.say(line(""));
          yield* output.say(line(bold(`${scenes.length}. ${title}`)));
          const result = yield* body;
          flush();
          return result;
        });
      /** A blank line after the pending trace line. */
      const blank = Effect.sync(flush).pipe(Effect.zipRight(output.say(line(""))));

      const settings: ClientSettings = {
        clientName: "authchart demo",
        redirectUris: ["http://127.0.0.1:33418/callback"],
      };
      // Started before the session, so that it stops after the session has closed.
      const inspect = yield* startInspector(args.inspect, output);
      const session = yield* Effect.acquireRelease(
        attempt("createSession", () =>
          createSession({
            serverUrl: kit.mcpUrl,
            client: settings,
            // The scripted user: signs in and answers the consent screen by its policy.
            userAgent: async (prompt) => {
              const scope = new URL(prompt.url).searchParams.get("scope") ?? "(none)";
              flush();
              Effect.runSync(
                output.say(
                  line(
                    "  ",
                    yellow("⇢ browser"),
                    ` the user signs in; asked for: ${sanitize(scope)}${kit.user.policy.grant === "all-but" ? `, declines ${kit.user.policy.decline.join(" ")}` : ", consents"}`,
                  ),
                ),
              );
              return kit.user.authorize(prompt.url);
            },
            onTrace,
            inspect,
          }),
        ),
        (session) => Effect.promise(() => session.close()),
      );
      const client = yield* scene(
        "connect and call echo (needs mcp:read): 401 -> discovery, registration, authorization",
        connectMcp(session, kit.mcpUrl),
      );
      const callTool = (name: string, text: string) =>
        mcpAttempt(`calling ${name}`, () => client.callTool({ name, arguments: { text } })).pipe(
          Effect.map((result) =>
            (result.content as Array<{ text?: string }>).map((c) => c.text ?? "").join(""),
          ),
        );
      const answer = (value: string) =>
        blank.pipe(
          Effect.zipRight(output.say(line("  ", green("→"), ` ${sanitize(value)}`))),
          Effect.zipRight(output.say(line(dim(`    ${countsText(countsOf(kit))}`)))),
        );

      yield* answer(yield* callTool("echo", "hello"));
      const first = scenes[0];
      if (first && !decisions(first).includes("discover"))
        return yield* new DemoDiverged({ scene: first.title, reason: "no discovery" });

      const stepUp = yield* scene(
        "call write-note (needs mcp:write): 403 insufficient_scope -> step-up, never a refresh",
        callTool("write-note", "a note"),
      );
      yield* answer(stepUp);
      const second = scenes[1];
      if (
        second &&
        (!decisions(second).includes("step-up") || decisions(second).includes("refresh"))
      )
        return yield* new DemoDiverged({
          scene: second.title,
          reason: `decisions were ${decisions(second).join(", ")}`,
        });

      kit.expireAccessTokens();
      const refreshed = yield* scene(
        "the server stops accepting the access token (expired): 401 -> one refresh",
        callTool("echo", "after the refresh"),
      );
      yield* answer(refreshed);
      const third = scenes[2];
      if (third && !decisions(third).includes("refreshed"))
        return yield* new DemoDiverged({
          scene: third.title,
          reason: `decisions were ${decisions(third).join(", ")}`,
        });

      kit.expireAccessTokens();
      const refreshesBefore = countsOf(kit).refreshes;
      const burst = yield* scene(
        "again, with 20 concurrent calls: still one refresh for all of them",
        Effect.all(
          Array.from({ length: 20 }, (_, i) => callTool("echo", `#${i}`)),
          { concurrency: "unbounded" },
        ),
      );
      yield* answer(`${burst.length} answers`);
      if (countsOf(kit).refreshes !== refreshesBefore + 1)
        return yield* new DemoDiverged({
          scene: scenes[3]?.title ?? "burst",
          reason: `${countsOf(kit).refreshes - refreshesBefore} refreshes`,
        });

      kit.user.policy = { grant: "all-but", decline: ["mcp:admin"] };
      const declined = yield* scene(
        "call admin-report (needs mcp:admin); the user declines that scope -> the named error, no loop",
        Effect.either(callTool("admin-report", "secret")),
      );
      flush();
      if (Either.isRight(declined))
        return yield* new DemoDiverged({
          scene: scenes[4]?.title ?? "declined",
          reason: "the call succeeded",
        });
      const error = declined.left as AuthchartError | { readonly _tag: string; message: string };
      const named =
        error._tag === "ScopeDeclined" ||
        (error._tag === "AuthorizationDenied" &&
          "error" in error &&
          error.error === "invalid_scope");
      yield* output.say(line(""));
      yield* output.say(
        line("  ", red("✗"), " ", bold(error._tag), `: ${sanitize(error.message)}`),
      );
      yield* output.say(line(dim(`    ${countsText(countsOf(kit))}`)));
      if (!named)
        return yield* new DemoDiverged({
          scene: scenes[4]?.title ?? "declined",
          reason: `ended in ${error._tag}`,
        });
      const lastScene = scenes[4];
      if (lastScene) lastScene.outcome = { error: { tag: error._tag, message: error.message } };

      kit.user.policy = { grant: "all" };
      const still = yield* scene(
        "the rest of the session keeps working: echo, without asking the user again",
        callTool("echo", "still here"),
      );
      yield* answer(still);

      const counts = countsOf(kit);
      const state = session.state();
      if (output.json)
        return yield* output.document({
          ok: true,
          mcpServer: kit.mcpUrl,
          authorizationServer: kit.issuer,
          scenes: scenes.map((s) => ({
            title: s.title,
            trace: s.trace.map((t) => ({ decision: t.decision, reason: t.reason })),
            ...(s.outcome === undefined ? {} : { outcome: s.outcome }),
          })),
          final: { state: state.value, scopes: state.token?.scopes ?? [] },
          counts,
        });
      yield* output.say(line(""));
      yield* output.say(
        line(
          bold("done"),
          " — state ",
          cyan(state.value),
          `, scopes ${state.token?.scopes.join(" ") ?? "(none)"}`,
        ),
      );
      yield* output.say(
        line(
          dim("  "),
          `${counts.authorizations} authorizations, ${counts.refreshes} refreshes, ${counts.registrations} registration, ${counts.mcp401} × 401, ${counts.mcp403} × 403 over ${counts.mcpRequests} MCP requests`,
        ),
      );
    }).pipe(Effect.scoped),
  ),
).pipe(
  Command.withDescription(
    "Watch the whole lifecycle against real servers on loopback: discovery, registration, authorization, step-up, refresh, a declined scope.",
  ),
);
