/**
 * `--inspect <where>`: the flow live in the Stately inspector. @statelyai/inspect turns xstate's
 * inspection events (every actor of the session's system — the lifecycle, its child flow, each
 * step — their snapshots and the events between them) into the inspector's; core's
 * inspectorOptions() redact them before they leave the process.
 *
 * - `--inspect stately`: Stately's hosted inspector (createSkyInspector). It prints the address to
 *   watch once it has connected; where the network does not reach it, the command says so once
 *   and goes on without it.
 * - `--inspect ws://host:port`: a WebSocket inspector, e.g. the relay of @statelyai/inspect's
 *   createInspectorServer, which opens the Stately inspector in a browser. The connection is made
 *   before the flow starts, so a wrong address is a usage error (exit 2) rather than a flow
 *   nobody sees, and it is closed only after the last event is sent. The frames are what the
 *   library's own WebSocket inspector sends (one inspection event as JSON per message); its
 *   adapter is not used because it retries silently every 5 s and drops the events it held back
 *   when stopped.
 *
 * @see https://stately.ai/docs/inspector
 */
import { inspectorOptions } from "@authchart/core";
import { Effect, Option, type Scope } from "effect";
import type WebSocket from "ws";
import type { InspectionEvent } from "xstate";
import { UsageError } from "./errors.js";
import { dim, line, type OutputService, sanitize } from "./output.js";

/** What a session is given: xstate's inspection hook. */
export type Inspect = (event: InspectionEvent) => void;

/** Where the inspection events go. */
export type InspectTarget =
  | { readonly kind: "stately" }
  | { readonly kind: "websocket"; readonly url: URL };

/** How long connecting to a WebSocket inspector may take before the command gives up. */
const CONNECT_TIMEOUT_MILLIS = 5_000;
/** How long closing it may take (the close handshake) before the socket is dropped. */
const CLOSE_TIMEOUT_MILLIS = 2_000;

/** The URL as it may be shown: without user name and password. */
export const displayInspectUrl = (url: URL): string => {
  const shown = new URL(url.href);
  shown.username = "";
  shown.password = "";
  return shown.href;
};

/** `--inspect`'s value: "stately", or a ws:// or wss:// URL. */
export const parseInspectTarget = (value: string): Effect.Effect<InspectTarget, UsageError> => {
  if (value === "stately") return Effect.succeed({ kind: "stately" });
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url !== undefined && (url.protocol === "ws:" || url.protocol === "wss:"))
    return Effect.succeed({ kind: "websocket", url });
  return Effect.fail(
    new UsageError({
      reason: `--inspect "${sanitize(url === undefined ? value.slice(0, 200) : displayInspectUrl(url))}" is neither "stately" nor a ws:// or wss:// URL`,
      hint: "give --inspect stately for Stately's hosted inspector, or the ws:// URL of a WebSocket inspector (e.g. ws://127.0.0.1:8080)",
    }),
  );
};

/** @statelyai/inspect, loaded only by a command given --inspect (the others start faster). */
const loadLibrary = Effect.promise(() => import("@statelyai/inspect"));

/** Lets the inspector's pending work run: it hands each event on from a timer (setTimeout 0). */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** JSON for a frame; a BigInt (no JSON form) is sent as its decimal text. */
const frame = (event: unknown): string =>
  JSON.stringify(event, (_key, value: unknown) =>
    typeof value === "bigint" ? value.toString() : value,
  );

/** ws is loaded with --inspect only: the other commands start without it. */
const connect = (url: URL) =>
  Effect.flatMap(
    Effect.promise(() => import("ws")),
    ({ default: Socket }) => opened(Socket, url),
  );

const opened = (Socket: typeof WebSocket, url: URL) =>
  Effect.async<WebSocket, UsageError>((resume) => {
    const socket = new Socket(url, { handshakeTimeout: CONNECT_TIMEOUT_MILLIS });
    const fail = (why: string) => {
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
      resume(
        Effect.fail(
          new UsageError({
            reason: `--inspect ${displayInspectUrl(url)}: no WebSocket inspector answered (${sanitize(why)})`,
            hint: "start the inspector first (e.g. @statelyai/inspect's createInspectorServer, which relays to the Stately inspector in a browser), or leave out --inspect",
          }),
        ),
      );
    };
    socket.once("open", () => {
      socket.removeAllListeners();
      resume(Effect.succeed(socket));
    });
    socket.once("error", (error) => fail(error.message));
    socket.once("unexpected-response", (_request, response) =>
      fail(`HTTP ${response.statusCode ?? "?"} instead of a WebSocket upgrade`),
    );
    return Effect.sync(() => {
      socket.removeAllListeners();
      socket.on("error", () => undefined);
      socket.terminate();
    });
  });

/** The WebSocket inspector: connected now, closed when the scope ends, after the last event. */
const webSocketInspector = (url: URL, output: OutputService) =>
  Effect.gen(function* () {
    const { createInspector } = yield* loadLibrary;
    const socket = yield* Effect.acquireRelease(connect(url), (socket) =>
      Effect.promise(async () => {
        await settle();
        await settle();
        if (socket.readyState !== socket.OPEN) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            socket.terminate();
            resolve();
          }, CLOSE_TIMEOUT_MILLIS);
          socket.once("close", () => {
            clearTimeout(timer);
            resolve();
          });
          socket.close(1000, "the command ended");
        });
      }),
    );
    let lost = false;
    const lose = (why: string) => {
      if (lost) return;
      lost = true;
      Effect.runSync(
        output.note(
          line(
            dim("inspect: "),
            `the inspector at ${displayInspectUrl(url)} went away (${sanitize(why)}); the command goes on without it`,
          ),
        ),
      );
    };
    // Without an error listener a socket error would end the process.
    socket.on("error", (error) => lose(error.message));
    socket.on("close", (code) => lose(`closed, ${code}`));
    const inspector = createInspector(
      {
        send: (event) => {
          if (socket.readyState === socket.OPEN) socket.send(frame(event));
        },
      },
      inspectorOptions(),
    );
    yield* output.note(
      line(
        dim("inspect: "),
        `watch this flow in the inspector at ${displayInspectUrl(url)} (secrets stay in this process)`,
      ),
    );
    // Once the command has ended, a late close is no news.
    yield* Effect.addFinalizer(() => Effect.sync(() => socket.removeAllListeners("close")));
    return inspector;
  });

/**
 * Stately's hosted inspector. Its library prints the address to watch with console.log once
 * connected: in this process that goes to stderr, so that stdout keeps only the command's result
 * (a --json document above all). Its socket cannot be closed through the library; the process's
 * exit ends it.
 */
const hostedInspector = (output: OutputService) =>
  Effect.gen(function* () {
    const { createSkyInspector } = yield* loadLibrary;
    yield* Effect.sync(() => {
      console.log = (...args: unknown[]) => {
        process.stderr.write(`${args.map((arg) => sanitize(String(arg))).join(" ")}\n`);
      };
    });
    let reported = false;
    const inspector = createSkyInspector({
      ...inspectorOptions(),
      onerror: (error) => {
        if (reported) return;
        reported = true;
        const message =
          error instanceof Error
            ? error.message
            : typeof (error as { message?: unknown })?.message === "string"
              ? (error as { message: string }).message
              : "no connection";
        Effect.runSync(
          output.note(
            line(
              dim("inspect: "),
              `Stately's hosted inspector cannot be reached (${sanitize(message)}); the command goes on without it`,
            ),
          ),
        );
      },
    });
    yield* output.note(
      line(
        dim("inspect: "),
        "sending this flow to Stately's hosted inspector (secrets stay in this process); the address to watch it follows once connected",
      ),
    );
    return inspector;
  });

/**
 * The inspection hook for a session, from `--inspect`'s value (none without the option); the
 * inspector stops when the scope ends.
 */
export const startInspector = (
  value: Option.Option<string>,
  output: OutputService,
): Effect.Effect<Inspect | undefined, UsageError, Scope.Scope> =>
  Effect.gen(function* () {
    if (Option.isNone(value)) return undefined;
    const target = yield* parseInspectTarget(value.value);
    const inspector =
      target.kind === "stately"
        ? yield* hostedInspector(output)
        : yield* webSocketInspector(target.url, output);
    return (event: InspectionEvent) => inspector.inspect.next?.(event);
  });
