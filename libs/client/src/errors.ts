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
 */
export type CascadeErrorSource = 'server' | 'close' | 'client';

export class CascadeError extends Error {
  override readonly name = 'CascadeError';
  /** The registry name of `code`, e.g. "PermissionDenied", "Unauthorized". */
  readonly codeName: string;

  constructor(
    readonly code: number,
    message: string,
    readonly source: CascadeErrorSource,
    /** The channel the error is about, when it is about one. */
    readonly channel?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.codeName = source === 'close' ? closeCodeName(code) : errorCodeName(code);
  }

  override toString(): string {
    return `CascadeError ${this.codeName} (${this.code}): ${this.message}`;
  }
}
