/**
 * `nodeUserAgent`: the browser step of @authchart/core on a user's machine (RFC 8252 §7.3) — the
 * function `createSession({ userAgent })` takes. For each authorization it starts the loopback
 * receiver on the prompt's redirect URI, opens the system browser on the authorization URL and
 * resolves with the callback URL the browser brings back (core validates code, state and iss).
 *
 * Without a display (Linux with neither DISPLAY nor WAYLAND_DISPLAY: SSH, containers, CI) or with
 * `headless: true`, it prints the authorization URL and reads the callback URL the user pastes
 * from the browser's address bar (the page itself fails to load on the remote machine). The
 * receiver listens in that mode too, so a forwarded port (`ssh -L`) works without pasting.
 *
 * The redirect URI must name a fixed port: core builds the authorization request (and later the
 * token request) with the registered redirect URI before the user agent runs, so a port chosen
 * here could not appear in it. An ephemeral port (`:0`) is refused with `InvalidRedirectUri`;
 * `startLoopbackReceiver` supports it for callers that build their own request.
 *
 * Ends with the callback URL, or rejects: `InvalidRedirectUri`, `LoopbackPortInUse`,
 * `LoopbackListenFailed`, `BrowserLaunchRefused`, `BrowserLaunchFailed`, `CallbackTimeout`,
 * `PasteEnded`, or the AbortSignal's reason. Every path closes the server and the paste reader.
 */
import * as readline from "node:readline";
import type { AuthorizationPrompt } from "@authchart/core";
import { Schema } from "effect";
import { type BrowserLauncher, browserUrl, openSystemBrowser } from "./browser.js";
import {
  classifyCallback,
  InvalidRedirectUri,
  parseLoopbackRedirectUri,
  startLoopbackReceiver,
} from "./loopback-receiver.js";

/** Paste mode: the input ended before a callback URL was pasted. */
export class PasteEnded extends Schema.TaggedError<PasteEnded>()("PasteEnded", {}) {
  override get message() {
    return "the input ended before the callback URL was pasted";
  }
}

export interface NodeUserAgentOptions {
  /** Opens the authorization URL. Default: the system browser (`openSystemBrowser`). */
  readonly launch?: BrowserLauncher | undefined;
  /** Print the URL and read the pasted callback instead of launching. Default: no display. */
  readonly headless?: boolean | undefined;
  /** Where the pasted callback URL is read from. Default: process.stdin. */
  readonly input?: NodeJS.ReadableStream | undefined;
  /** Where instructions go. Default: process.stderr (stdout may carry a protocol). */
  readonly output?: NodeJS.WritableStream | undefined;
  /** How long the receiver waits. Default 5 minutes; core's own timeout aborts it as well. */
  readonly timeoutMillis?: number | undefined;
  /** For the display check. Default: process.env and process.platform. */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  readonly platform?: NodeJS.Platform | undefined;
}

/**
 * Whether a browser can be shown: always on macOS and Windows; elsewhere an X11 or Wayland display
 * must be named.
 */
export const hasDisplay = (
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
): boolean =>
  platform === "darwin" ||
  platform === "win32" ||
  Boolean(env.DISPLAY) ||
  Boolean(env.WAYLAND_DISPLAY);

interface PasteReader {
  readonly pasted: Promise<string>;
  readonly stop: () => void;
}

/** Reads lines until one is this flow's callback URL; says why it ignores any other line. */
const readPastedCallback = (
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  expected: { readonly redirectUri: URL; readonly state: string | undefined },
): PasteReader => {
  const lines = readline.createInterface({ input, terminal: false, crlfDelay: Infinity });
  let done = false;
  let stop = () => {};
  const pasted = new Promise<string>((resolve, reject) => {
    const onLine = (line: string) => {
      const text = line.trim();
      if (text === "" || done) return;
      let url: URL | undefined;
      try {
        url = new URL(text);
      } catch {
        url = undefined;
      }
      const verdict = url === undefined ? "wrong-endpoint" : classifyCallback(url, expected);
      if (url !== undefined && verdict === "callback") {
        stop();
        resolve(url.href);
        return;
      }
      output.write(
        verdict === "wrong-state"
          ? "That address belongs to another sign-in; paste the one this sign-in ended on.\n"
          : `That is not the callback address; paste the full address the browser ended on (it starts with ${expected.redirectUri.href}).\n`,
      );
    };
    const onClose = () => {
      if (done) return;
      stop();
      reject(new PasteEnded());
    };
    stop = () => {
      done = true;
      lines.off("line", onLine);
      lines.off("close", onClose);
      lines.close();
    };
    lines.on("line", onLine);
    lines.on("close", onClose);
  });
  pasted.catch(() => undefined);
  return { pasted, stop: () => stop() };
};

/**
 * The UserAgent for `createSession({ userAgent: nodeUserAgent() })`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export const nodeUserAgent =
  (options: NodeUserAgentOptions = {}) =>
  async (prompt: AuthorizationPrompt, signal: AbortSignal): Promise<string> => {
    const url = browserUrl(prompt.url);
    const endpoint = parseLoopbackRedirectUri(prompt.redirectUri);
    if (endpoint.port === 0) {
      throw new InvalidRedirectUri({
        redirectUri: prompt.redirectUri,
        reason:
          "port 0 (an ephemeral port) cannot be used: the authorization and token requests carry the registered redirect URI as is; register a fixed port",
      });
    }
    const state = new URL(url).searchParams.get("state") ?? undefined;
    const output = options.output ?? process.stderr;
    const headless = options.headless ?? !hasDisplay(options.env, options.platform);
    const receiver = await startLoopbackReceiver({
      redirectUris: [prompt.redirectUri],
      state,
      timeoutMillis: options.timeoutMillis,
      signal,
    });
    let paste: PasteReader | undefined;
    try {
      if (headless) {
        output.write(
          `Open this address in a browser to sign in:\n\n  ${url}\n\n` +
            `Then paste here the address the browser ends on (it starts with ${endpoint.url.href}; that page may fail to load):\n`,
        );
        paste = readPastedCallback(options.input ?? process.stdin, output, {
          redirectUri: endpoint.url,
          state,
        });
        return await Promise.race([receiver.callback, paste.pasted]);
      }
      output.write(`Opening the browser to sign in. If it does not open, visit:\n\n  ${url}\n\n`);
      const launching = (options.launch ?? openSystemBrowser)(url);
      return await Promise.race([receiver.callback, launching.then(() => receiver.callback)]);
    } finally {
      paste?.stop();
      await receiver.close();
    }
  };
