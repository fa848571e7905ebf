/**
 * `authchart status [url]`: what the store holds — each saved server's state, granted scopes,
 * expiry, issuer and client, and the store's kind — read from the persisted session metadata
 * (core's PersistedSession), never from the tokens. No network.
 */
import { Args, Command } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { NotLoggedIn } from "../errors.js";
import * as Shared from "../options.js";
import { dim, line, Output, yellow } from "../output.js";
import { configDirectory, findSavedServer, openStore, type Store } from "../store.js";
import { decodeSession, type SessionSummary, summarize, summaryLines } from "../summary.js";

/**
 * A saved session's summary; none for one that learned nothing (a command that never reached
 * the server still saves the session's first quiet state).
 */
const loadSummary = (store: Store, serverUrl: string, now: number) =>
  Effect.map(store.loadSession(serverUrl), (json) =>
    Option.flatMap(json, decodeSession).pipe(
      Option.filter(
        (session) =>
          session.token !== undefined ||
          session.client !== undefined ||
          session.authServer !== undefined ||
          session.resource !== undefined,
      ),
      Option.map((session) => summarize(session, now)),
    ),
  );

export const status = Command.make(
  "status",
  {
    url: Args.optional(Shared.serverUrl),
    json: Shared.json,
    configDir: Shared.configDir,
  },
  (args) =>
    runCommand(
      args,
      Effect.gen(function* () {
        const output = yield* Output;
        const directory = configDirectory(args.configDir);
        const store = yield* openStore(directory);
        const now = Date.now();
        const summaries: SessionSummary[] = [];
        if (Option.isSome(args.url)) {
          const url = yield* Shared.checkServerUrl(args.url.value);
          const server = yield* findSavedServer(store, url);
          const summary = Option.isSome(server)
            ? yield* loadSummary(store, server.value, now)
            : Option.none();
          if (Option.isNone(summary)) return yield* new NotLoggedIn({ serverUrl: url });
          summaries.push(summary.value);
        } else {
          for (const server of yield* store.listSessions()) {
            const summary = yield* loadSummary(store, server, now);
            if (Option.isSome(summary)) summaries.push(summary.value);
          }
        }
        const described = store.describe();
        if (output.json) {
          return yield* output.document({
            ok: true,
            store: {
              kind: described.kind,
              directory: described.directory,
              ...(described.keychainService ? { keychainService: described.keychainService } : {}),
            },
            servers: summaries,
          });
        }
        yield* output.say(
          line(
            dim("store  "),
            `${described.kind === "keychain" ? `the OS keychain (${described.keychainService})` : "files"} in ${described.directory}`,
          ),
        );
        if (summaries.length === 0) {
          yield* output.say(line(yellow("no saved sessions"), dim(" (authchart login <url>)")));
          return;
        }
        for (const summary of summaries) {
          yield* output.say(line(""));
          for (const l of summaryLines(summary, now)) yield* output.say(l);
        }
      }),
    ),
).pipe(
  Command.withDescription(
    "Show the saved sessions (or one): state, granted scopes, expiry, issuer, client, and the store's kind. Never a token.",
  ),
);
