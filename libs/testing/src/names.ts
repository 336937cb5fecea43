// Makes names unique per test run that are valid NATS stream, consumer and KV bucket names.
import { randomBytes } from 'node:crypto';

let counter = 0;

export function uniqueName(prefix: string): string {
  // NATS rejects '.', '*', '>', whitespace and path separators in stream/consumer/bucket names.
  const safePrefix = prefix.replace(/[^A-Za-z0-9_-]/g, '_') || 'name';
  counter += 1;
  const random = randomBytes(4).toString('hex');
  return `${safePrefix}_${process.pid}_${counter}_${random}`;
}
