/**
 * `authchart logout <url>`: revoke the tokens at the authorization server (RFC 7009, where it
 * offers revocation), then forget them, the saved session and the login settings — whatever the
 * revocation's answer (core's session.logout). Logging out of a server with no saved session is
 * not an error: there is nothing left to forget.
 */
import { Command } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { startInspector } from "../inspect.js";
import * as Shared from "../options.js";
import { dim, green, line, Output, sanitize, yellow } from "../output.js";
import { attempt, openSession } from "../session.js";
import {
  configDirectory,
  DEFAULT_REDIRECT_PORT,
  deleteProfile,
  findSavedServer,
  loadProfile,
  openStore,
} from "../store.js";

export const logout = Command.make(
  "logout",
  {
    url: Shared.serverUrl,
    decisions: Shared.decisions,
    trace: Shared.trace,
    inspect: Shared.inspect,
    json: Shared.json,
    configDir: Shared.configDir,
  },
  (args) =>
    runCommand(
      args,
      Effect.gen(function* () {
        const output = yield* Output;
        const typed = yield* Shared.checkServerUrl(args.url);
        const directory = configDirectory(args.configDir);
        const store = yield* openStore(directory);
        const saved = yield* findSavedServer(store, typed);
        if (Option.isNone(saved)) {
          yield* deleteProfile(directory, typed);
          if (output.json)
            return yield* output.document({ ok: true, server: typed, loggedOut: false });
          return yield* output.say(
            line(yellow("no saved session"), ` for ${typed}: nothing to forget`),
          );
        }
        const serverUrl = saved.value;
        const profile = Option.getOrElse(yield* loadProfile(directory, serverUrl), () => ({
          port: DEFAULT_REDIRECT_PORT,
        }));
        const report = yield* Effect.scoped(
          Effect.gen(function* () {
            const inspect = yield* startInspector(args.inspect, output);
            const { session } = yield* openSession({
              serverUrl,
              directory,
              store,
              profile,
              headless: true,
              trace: args.decisions,
              traceFile: Option.getOrUndefined(args.trace),
              output,
              secretRequired: false,
              inspect,
            });
            return yield* output.waiting(
              `revoking the tokens of ${serverUrl}`,
              attempt("logout", () => session.logout()),
            );
          }),
        );
        yield* deleteProfile(directory, serverUrl);
        const failures = report.failures.map((failure) => ({
          tag: failure._tag,
          message: failure.message,
        }));
        if (output.json)
          return yield* output.document({
            ok: true,
            server: serverUrl,
            loggedOut: true,
            revoked: report.revoked,
            revocationFailures: failures,
          });
        yield* output.say(
          line(
            green("logged out"),
            ` of ${serverUrl}: ${report.revoked} token${report.revoked === 1 ? "" : "s"} revoked at the authorization server, the local copies deleted`,
          ),
        );
        for (const failure of failures)
          yield* output.say(
            line(yellow("  warning "), sanitize(failure.message), dim(` (${failure.tag})`)),
          );
      }),
    ),
).pipe(
  Command.withDescription(
    "Log out of an MCP server: revoke its tokens at the authorization server, then forget them and the saved session.",
  ),
);
