/**
 * `authchart login <url>`: authorize ahead of time (session.authorize) — discovery, the client
 * (pre-registered, a client-ID metadata document, or dynamic registration: MCP "Client
 * Registration Approaches"), the browser step, the token — and remember how, for the commands
 * that follow.
 *
 * A pre-registered client id without --issuer is bound to the first authorization server it is
 * used with, and no other after that (core's PreRegisteredClient; SEP-2352): the issuer is rarely
 * known before discovery, and the user sees it in the output.
 */
import { Command, Options } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { UsageError } from "../errors.js";
import { startInspector } from "../inspect.js";
import * as Shared from "../options.js";
import { dim, green, line, Output } from "../output.js";
import { attempt, openSession } from "../session.js";
import {
  configDirectory,
  DEFAULT_REDIRECT_PORT,
  loadProfile,
  openStore,
  type ServerProfile,
  saveProfile,
  serverUrlFor,
} from "../store.js";
import { decodeSession, summarize, summaryLines } from "../summary.js";

const scope = Options.text("scope").pipe(
  Options.repeated,
  Options.withDescription(
    "Scopes to ask for (repeat the option, or separate with spaces). Default: what the server advertises.",
  ),
);
const clientId = Options.text("client-id").pipe(
  Options.optional,
  Options.withDescription(
    "A client id registered with the authorization server beforehand (instead of dynamic registration). Without --client-id or --client-metadata-url, the client of the last login to this server is used.",
  ),
);
const issuer = Options.text("issuer").pipe(
  Options.optional,
  Options.withDescription(
    "The issuer the --client-id belongs to. Default: the first authorization server it is used with.",
  ),
);
const clientSecretEnv = Options.text("client-secret-env").pipe(
  Options.optional,
  Options.withDescription(
    "The name of the environment variable that holds the client secret of --client-id (never the secret itself).",
  ),
);
const clientMetadataUrl = Options.text("client-metadata-url").pipe(
  Options.optional,
  Options.withDescription(
    "An https URL serving this client's metadata document, used as its client id where the authorization server supports it.",
  ),
);
const port = Options.integer("port").pipe(
  Options.optional,
  Options.withDescription(
    "The loopback port of the redirect URI http://127.0.0.1:<port>/callback, for an authorization server that wants the exact port it registered. Default: 0, a free port chosen at each sign-in (RFC 8252 §7.3 lets the port vary), or what the last login to this server used.",
  ),
);

/**
 * A TCP port, 1–65535, or 0 for a free one at each sign-in. A port below 1024 is allowed (an
 * authorization server may have registered one); where the system refuses to bind it, the sign-in
 * says so (LoopbackListenFailed).
 */
const checkPort = (value: number) =>
  Number.isInteger(value) && value >= 0 && value <= 65535
    ? Effect.succeed(value)
    : Effect.fail(
        new UsageError({
          reason: `--port ${value} is not a TCP port`,
          hint: "give a port between 1 and 65535, or 0 for one the system chooses at each sign-in",
        }),
      );

export const login = Command.make(
  "login",
  {
    url: Shared.serverUrl,
    scope,
    clientId,
    issuer,
    clientSecretEnv,
    clientMetadataUrl,
    port,
    headless: Shared.headless,
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
        const typedUrl = yield* Shared.checkServerUrl(args.url);
        const directory = configDirectory(args.configDir);
        if (Option.isSome(args.clientSecretEnv) && Option.isNone(args.clientId))
          return yield* new UsageError({
            reason: "--client-secret-env needs --client-id",
            hint: "give the pre-registered client's id with --client-id",
          });
        if (Option.isSome(args.issuer) && Option.isNone(args.clientId))
          return yield* new UsageError({
            reason: "--issuer needs --client-id",
            hint: "give the pre-registered client's id with --client-id",
          });
        const store = yield* openStore(directory);
        const serverUrl = yield* serverUrlFor(store, typedUrl);
        const previous = yield* loadProfile(directory, serverUrl);
        const chosenPort = yield* checkPort(
          Option.getOrElse(args.port, () =>
            Option.match(previous, {
              onNone: () => DEFAULT_REDIRECT_PORT,
              onSome: (p) => p.port,
            }),
          ),
        );
        // The client the last login chose stays unless this one names another (logout forgets it).
        const namesClient = Option.isSome(args.clientId) || Option.isSome(args.clientMetadataUrl);
        const profile: ServerProfile =
          !namesClient && Option.isSome(previous)
            ? { ...previous.value, port: chosenPort }
            : {
                clientId: Option.getOrUndefined(args.clientId),
                issuer: Option.getOrUndefined(args.issuer),
                clientSecretEnv: Option.getOrUndefined(args.clientSecretEnv),
                clientMetadataUrl: Option.getOrUndefined(args.clientMetadataUrl),
                port: chosenPort,
              };
        const scopes = Shared.splitScopes(args.scope);
        const summary = yield* Effect.scoped(
          Effect.gen(function* () {
            const inspect = yield* startInspector(args.inspect, output);
            const { session, explain } = yield* openSession({
              serverUrl,
              directory,
              store,
              profile,
              headless: Option.getOrUndefined(args.headless),
              trace: args.decisions,
              traceFile: Option.getOrUndefined(args.trace),
              output,
              inspect,
            });
            yield* output.waiting(
              `logging in to ${serverUrl}`,
              attempt("authorize", () =>
                session.authorize(scopes.length > 0 ? scopes : undefined),
              ).pipe(Effect.mapError(explain)),
            );
            // The session saves itself at quiet states; the summary is what it saved.
            yield* attempt("close", () => session.close());
            const saved = yield* store.loadSession(serverUrl);
            return Option.flatMap(saved, decodeSession);
          }),
        );
        yield* saveProfile(directory, serverUrl, profile);
        const now = Date.now();
        const summarized = Option.map(summary, (s) => summarize(s, now));
        if (output.json) {
          return yield* output.document({
            ok: true,
            server: serverUrl,
            session: Option.getOrNull(summarized),
            store: store.describe(),
          });
        }
        yield* output.say(line(green("logged in"), ` to ${serverUrl}`));
        if (Option.isSome(summarized))
          for (const l of summaryLines(summarized.value, now)) yield* output.say(l);
        yield* output.say(
          line(dim(`  store    ${store.describe().kind} in ${store.describe().directory}`)),
        );
      }),
    ),
).pipe(
  Command.withDescription(
    "Log in to an MCP server: discovery, client registration, the browser sign-in, the token.",
  ),
);
