// The typed error every decoding failure becomes; it carries the code to send back and,
// when it could be read, the request id so the error frame answers the right request.
import { ErrorCode, errorCodeName } from './codes.js';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Request id of the frame that failed, when the frame got that far. */
    readonly id?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** e.g. "InvalidChannel: channel must not be empty" */
  override toString(): string {
    return `${errorCodeName(this.code)}: ${this.message}`;
  }
}

export type Decoded<T> = { ok: true; frame: T } | { ok: false; error: ProtocolError };
