/**
 * DeviceCodePresenter: how the user learns where to go and which code to enter during a device
 * authorization (RFC 8628 §3.3). authchart hands it the user code and the verification URI; it
 * shows them (the default layer prints to stderr through Effect's Console) and returns — polling
 * starts when it has. Applications supply their own (a dialog, a QR code of
 * `verificationUriComplete`, a chat message); tests drive a headless user from it.
 *
 * The values are checked before they get here: the user code has no control characters and the
 * URIs are http(s) (https outside loopback), so printing them cannot rewrite the terminal.
 */
import { Console, Context, Effect, Layer } from "effect";
import { UserAgentFailed } from "../errors.js";

export interface DeviceCodePrompt {
  /** RFC 8628 §3.2 `user_code`: what the user types at the verification URI. */
  readonly userCode: string;
  /** RFC 8628 §3.2 `verification_uri`. */
  readonly verificationUri: string;
  /** RFC 8628 §3.3.1 `verification_uri_complete`: the URI with the code in it (non-textual use). */
  readonly verificationUriComplete?: string | undefined;
  /** Epoch milliseconds after which the code is no longer accepted. */
  readonly expiresAt: number;
}

export interface DeviceCodePresenterService {
  /** Shows the prompt and returns; a failure ends the grant (nobody would enter the code). */
  readonly present: (prompt: DeviceCodePrompt) => Effect.Effect<void, UserAgentFailed>;
}

/** The text the default presenter prints (RFC 8628 §3.3: the URI and the code, both readable). */
export const formatDeviceCodePrompt = (prompt: DeviceCodePrompt): string =>
  [
    `To sign in, open ${prompt.verificationUri} and enter the code ${prompt.userCode}`,
    ...(prompt.verificationUriComplete === undefined
      ? []
      : [`(or open ${prompt.verificationUriComplete})`]),
  ].join("\n");

/** The default presenter: the prompt on stderr, through Effect's Console (replaceable in tests). */
const presentOnStderr: DeviceCodePresenterService = {
  present: (prompt) => Console.error(formatDeviceCodePrompt(prompt)),
};
export const make: Effect.Effect<DeviceCodePresenterService> = Effect.succeed(presentOnStderr);

export class DeviceCodePresenter extends Context.Tag("@authchart/core/DeviceCodePresenter")<
  DeviceCodePresenter,
  DeviceCodePresenterService
>() {
  /** Prints the prompt to stderr (Effect's Console). */
  static readonly layer = Layer.effect(DeviceCodePresenter, make);

  /** From a Promise-returning function; the AbortSignal fires when authchart stops waiting. */
  static readonly fromPromise = (
    present: (prompt: DeviceCodePrompt, signal: AbortSignal) => Promise<void>,
  ) => Layer.succeed(DeviceCodePresenter, DeviceCodePresenter.serviceFromPromise(present));

  /** The prompt on stderr: the service `layer` provides. */
  static readonly stderr: DeviceCodePresenterService = presentOnStderr;

  /** The service `fromPromise` provides, for a Context built without a Layer. */
  static readonly serviceFromPromise = (
    present: (prompt: DeviceCodePrompt, signal: AbortSignal) => Promise<void>,
  ): DeviceCodePresenterService => ({
    present: (prompt) =>
      Effect.tryPromise({
        try: (signal) => present(prompt, signal),
        catch: () => new UserAgentFailed({ reason: "the device code could not be presented" }),
      }),
  });
}
