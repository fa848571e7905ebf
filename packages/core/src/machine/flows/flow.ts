/**
 * The contract between the lifecycle and a grant's child flow: what `obtaining` gives every flow,
 * and what every flow ends with. A flow is any xstate machine with this input and output; the
 * lifecycle invokes the one the client configuration names.
 */

import type { ScopeFacts } from "../decisions.js";
import type { AuthchartError } from "../errors.js";
import type { AuthorizationCounts } from "../loop-guard.js";
import type { AuthConfig, ClientInfo, Learned, ScopePlan, TokenInfo } from "../model.js";

export interface FlowInput {
  readonly serverUrl: string;
  readonly config: AuthConfig;
  /** What the session knows: the challenge answered, the metadata, the scopes asked and held. */
  readonly facts: ScopeFacts;
  readonly client?: ClientInfo | undefined;
  /** The session's loop-guard counters (the flow counts its own retries on a copy). */
  readonly authorizations: AuthorizationCounts;
  /** Register the client again first: the token endpoint no longer knew it. */
  readonly reregister: boolean;
}

/** Success with the token's metadata and what the flow learned, or a typed error. */
export type FlowOutput =
  | {
      readonly ok: true;
      readonly token: TokenInfo;
      /** The plan the token answers (for what the grant lacks of it); none for a grant without one. */
      readonly plan: ScopePlan | undefined;
      readonly learned: Learned;
    }
  | {
      readonly ok: false;
      readonly error: AuthchartError;
      readonly plan: ScopePlan | undefined;
      readonly learned: Learned;
    };
