/**
 * `nodeUserAgent`: the browser step of @authchart/core on a user's machine (RFC 8252 §7.3) — what
 * `createSession({ userAgent })` takes. For each authorization core first asks it to `prepare`
 * the redirect endpoint: the loopback receiver binds the redirect URI's port — an ephemeral one
 * for `http://127.0.0.1:0/…` or `http://[::1]:0/…`, whose real port then goes into the
 * authorization request and the token request — before the authorization URL exists. Then it
 * opens the system browser on that URL and resolves with the callback URL the browser brings back
 * (core validates code, state and iss); the receiver is closed on every path.
 *
 * Without a display (Linux with neither DISPLAY nor WAYLAND_DISPLAY: SSH, containers, CI) or with
 * `headless: true`, it prints the authorization URL and reads the callback URL the user pastes
 * from the browser's address bar (the page itself fails to load on the remote machine). The
 * receiver listens in that mode too, so a forwarded port (`ssh -L`) works without pasting. And
 * headless, it tells core it prefers the device authorization grant (RFC 8628): when the
 * authorization server offers it, the user enters a short code on any device instead.
 *
 * It is also a plain function `(prompt, signal) => callbackUrl` (for wrappers): then the
 * authorization request already names its redirect URI, which must have a fixed port.
 *
 * Ends with the callback URL, or rejects: `InvalidRedirectUri`, `LoopbackPortInUse`,
 * `LoopbackListenFailed`, `BrowserLaunchRefused`, `BrowserLaunchFailed`, `CallbackTimeout`,
 * `PasteEnded`, or the AbortSignal's reason. Every path closes the server and the paste reader.
 */
import * as readline from "node:readline";
import type {
  AuthorizationPrompt,
  BindFirstUserAgent,
  PreparedRedirect,
  UserAgentFunction,
} from "@authchart/core";
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
  /**
   * Ask for the device authorization grant (RFC 8628) instead of the browser step when the
   * authorization server offers it. Default: when headless.
   */
  readonly preferDeviceFlow?: boolean | undefined;
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
 * The UserAgent for `createSession({ userAgent: nodeUserAgent() })`: it binds first (`prepare`),
 * and is a plain function too.
 */
export type NodeUserAgent = UserAgentFunction &
  BindFirstUserAgent & {
    /** No browser here: the URL is printed and the callback pasted. */
    readonly headless: boolean;
    /** The device authorization grant instead, where the authorization server offers it. */
    readonly prefersDeviceFlow: boolean;
  };

/** Rejects with the signal's reason once it aborts; `dispose` lets go of the signal. */
const abortion = (signal: AbortSignal) => {
  let dispose = () => {};
  const promise = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    dispose = () => signal.removeEventListener("abort", onAbort);
  });
  promise.catch(() => undefined);
  return { promise, dispose };
};

/**
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3
 */
export const nodeUserAgent = (options: NodeUserAgentOptions = {}): NodeUserAgent => {
  const output = options.output ?? process.stderr;
  const headless = options.headless ?? !hasDisplay(options.env, options.platform);

  const prepare = async (redirectUri: string, signal: AbortSignal): Promise<PreparedRedirect> => {
    const endpoint = parseLoopbackRedirectUri(redirectUri);
    if (endpoint.port === 0 && endpoint.url.hostname === "localhost") {
      throw new InvalidRedirectUri({
        redirectUri,
        reason:
          "an ephemeral port (:0) needs a loopback IP literal (127.0.0.1 or [::1]): RFC 8252 §7.3 lets the authorization server match any port only for those",
      });
    }
    // Bound now, before the authorization request exists; nothing is the callback until the
    // request's state is known.
    const receiver = await startLoopbackReceiver({
      redirectUris: [redirectUri],
      requireState: true,
      timeoutMillis: options.timeoutMillis,
      signal,
    });
    const served = new URL(receiver.redirectUri);
    let paste: PasteReader | undefined;
    return {
      // A fixed port exactly as registered; an ephemeral one with the port the system gave.
      redirectUri: endpoint.port === 0 ? receiver.redirectUri : redirectUri,
      authorize: async (authorizationUrl, signal) => {
        const url = browserUrl(authorizationUrl);
        const state = new URL(url).searchParams.get("state") ?? undefined;
        receiver.expectState(state);
        const aborted = abortion(signal);
        try {
          if (headless) {
            output.write(
              `Open this address in a browser to sign in:\n\n  ${url}\n\n` +
                `Then paste here the address the browser ends on (it starts with ${served.href}; that page may fail to load):\n`,
            );
            paste = readPastedCallback(options.input ?? process.stdin, output, {
              redirectUri: served,
              state,
            });
            return await Promise.race([receiver.callback, paste.pasted, aborted.promise]);
          }
          output.write(
            `Opening the browser to sign in. If it does not open, visit:\n\n  ${url}\n\n`,
          );
          const launching = (options.launch ?? openSystemBrowser)(url);
          return await Promise.race([
            receiver.callback,
            launching.then(() => receiver.callback),
            aborted.promise,
          ]);
        } finally {
          aborted.dispose();
          paste?.stop();
        }
      },
      close: async () => {
        paste?.stop();
        await receiver.close();
      },
    };
  };

  const asFunction: UserAgentFunction = async (prompt: AuthorizationPrompt, signal) => {
    const url = browserUrl(prompt.url);
    if (parseLoopbackRedirectUri(prompt.redirectUri).port === 0) {
      throw new InvalidRedirectUri({
        redirectUri: prompt.redirectUri,
        reason:
          "called as a function, the user agent gets an authorization request already built with this redirect URI, so no port can be bound for it: give nodeUserAgent() itself to createSession (it binds first), or register a fixed port",
      });
    }
    const prepared = await prepare(prompt.redirectUri, signal);
    try {
      return await prepared.authorize(url, signal);
    } finally {
      await prepared.close();
    }
  };

  return Object.assign(asFunction, {
    prepare,
    headless,
    prefersDeviceFlow: options.preferDeviceFlow ?? headless,
  });
};
