/**
 * The one discovery pattern shared by resource and authorization-server metadata: try candidate
 * URLs in order; a 4xx means "not here, try the next" (our reading of MCP's ordered lists); the
 * first 200 is the answer and must be a valid document — a broken 200 is an error, never a silent
 * fallback to the next candidate; anything else (5xx, redirects, timeouts) stops discovery with a
 * typed error.
 */
import { Effect } from "effect";
import { UnexpectedStatus } from "../errors.js";
import { OAuthHttp, type OAuthResponse } from "../services/http.js";

export interface ProbeAttempt {
  readonly url: string;
  readonly status: number;
}

export type ProbeResult<C> =
  | {
      readonly _tag: "Found";
      readonly candidate: C;
      readonly response: OAuthResponse;
      readonly attempts: readonly ProbeAttempt[];
    }
  | { readonly _tag: "NotFound"; readonly attempts: readonly ProbeAttempt[] };

export const probeInOrder = <C extends { readonly url: string }>(candidates: readonly C[]) =>
  Effect.gen(function* () {
    const http = yield* OAuthHttp;
    const attempts: ProbeAttempt[] = [];
    for (const candidate of candidates) {
      const response = yield* http.send({ method: "GET", url: candidate.url });
      attempts.push({ url: candidate.url, status: response.status });
      if (response.status === 200) {
        return { _tag: "Found", candidate, response, attempts } as ProbeResult<C>;
      }
      if (response.status >= 400 && response.status < 500) continue;
      return yield* new UnexpectedStatus({
        url: candidate.url,
        status: response.status,
        expected: "200, or 4xx to try the next location",
      });
    }
    return { _tag: "NotFound", attempts } as ProbeResult<C>;
  });
