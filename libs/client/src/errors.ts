// The one error type the application sees. It carries a code from the shared registry in
// @cascade/protocol (an error-frame code, or a WebSocket close code) and where it came from,
// so applications match on codes, never on message text.
import { closeCodeName, errorCodeName } from '@cascade/protocol';

/**
 * Where a CascadeError comes from:
 * - `server`: an error frame (`t:106`); `code` is an ErrorCode (100-199).
 * - `close`: the server closed the connection; `code` is a CloseCode (1000-4999).
 * - `client`: the SDK refused or gave up locally (bad input, timeout, client closed);
 *   `code` is the ErrorCode that describes it best (e.g. 103, 109, 111, 113).
 * - `http`: SSE mode, the edge refused an HTTP request (publish, ephemeral, the stream);
 *   `code` is the registry code of its JSON body (an ErrorCode, or a CloseCode such as
 *   4006 TokenExpired and 4501 Unauthorized for token problems); `status` is the HTTP status.
 */
export type CascadeErrorSource = 'server' | 'close' | 'client' | 'http';

export class CascadeError extends Error {
  override readonly name = 'CascadeError';
  /** The registry name of `code`, e.g. "PermissionDenied", "Unauthorized". */
  readonly codeName: string;
  /** The HTTP status, for `source: 'http'`. */
  readonly status?: number;

  constructor(
    readonly code: number,
    message: string,
    readonly source: CascadeErrorSource,
    /** The channel the error is about, when it is about one. */
    readonly channel?: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    if (options?.status !== undefined) this.status = options.status;
    // Close codes are 1000 and up, error codes below 1000: an HTTP body may carry either.
    this.codeName = source === 'close' || (source === 'http' && code >= 1000) ? closeCodeName(code) : errorCodeName(code);
  }

  override toString(): string {
    return `CascadeError ${this.codeName} (${this.code}): ${this.message}`;
  }
}
