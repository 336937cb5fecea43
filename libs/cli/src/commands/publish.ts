// `cascade publish`: durable publishes through the SDK, one or --count of them, printing
// each acknowledgement (stored, or duplicate of an earlier key).
import { newIdempotencyKey } from '@cascade/client';
import { MAX_KEY_LENGTH } from '@cascade/protocol';
import { channelArg, Failure, intOption, jsonArg, parse, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { connectionSettings, CONNECTION_HELP, CONNECTION_OPTIONS, describeError, openClient } from '../connect.js';
import { elapsed, toJson } from '../format.js';

// Publishes in flight at once with --count: enough to hide round trips, few enough that a
// failure stops the run quickly (the SDK sends them in order on one connection).
const WINDOW = 32;
// The protocol's key alphabet (codec.ts); checked here so a bad key is a usage error.
const KEY_RE = /^[A-Za-z0-9_\-:.=+/]+$/;

export const publishCommand: Command = {
  name: 'publish',
  help: `Usage: cascade publish <channel> <json-data> [options]

Publishes through the client SDK and waits for the durable acknowledgement. Prints
"stored" or "duplicate" (the key was stored before) per message; with --json one line
{"channel", "key", "dup"} per message.

Options:
  --key <k>         idempotency key (default: random); with --count, <k>-1 ... <k>-<n>
  --count <n>       publish the message n times (1-1000000), with a progress line
${CONNECTION_HELP}
  --json            one JSON line per acknowledgement, no progress

Examples:
  npx cascade publish chat:room1 '{"text":"hello"}'
  npx cascade publish news '"breaking"' --user editor --count 100`,
  async run(argv, ctx) {
    const { values, positionals } = parse('publish', argv, { key: { type: 'string' }, count: { type: 'string' }, ...CONNECTION_OPTIONS }, { min: 2, max: 2 });
    const out = ctx.output(values['json'] === true);
    const channel = channelArg(positionals[0]!);
    const data = jsonArg(positionals[1]!);
    const count = intOption(values, 'count', 1, 1_000_000) ?? 1;
    const key = str(values, 'key');
    // With --count the key gets a "-<i>" suffix, which must still fit.
    const room = MAX_KEY_LENGTH - (count > 1 ? String(count).length + 1 : 0);
    if (key !== undefined && (key.length > room || !KEY_RE.test(key))) throw new UsageError(`--key must be 1-${room} characters of letters, digits and _ - : . = + /`);
    const settings = connectionSettings(values, ctx.env);

    const client = await openClient(settings, { pubs: [channel] }, ctx.signal);
    const started = Date.now();
    let stored = 0;
    let dups = 0;
    let failure: unknown;
    try {
      let next = 0;
      const worker = async () => {
        while (next < count && failure === undefined && !ctx.signal.aborted) {
          const i = ++next;
          const k = key === undefined ? newIdempotencyKey() : count === 1 ? key : `${key}-${i}`;
          try {
            const ack = await client.publish(channel, data, { key: k });
            if (ack.dup) dups++;
            else stored++;
            if (out.json) out.value(toJson({ channel, key: ack.key, dup: ack.dup }));
            else if (count === 1) out.line(`${ack.dup ? out.style.yellow('duplicate') : out.style.green('stored')}  ${channel}  key ${ack.key}`);
            else out.progress(`published ${stored + dups}/${count} to ${channel}`);
          } catch (err) {
            failure ??= err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, worker));
    } finally {
      await client.close();
    }
    out.clearProgress();
    const done = stored + dups;
    if (count > 1) out.note(`published ${done} of ${count} to ${channel} in ${elapsed(Date.now() - started)}: ${stored} stored, ${dups} duplicate`);
    if (failure !== undefined) throw new Failure(`publish to ${channel} failed after ${done} of ${count}: ${describeError(failure)}`);
    if (ctx.signal.aborted && done < count) return 130;
    return 0;
  },
};
