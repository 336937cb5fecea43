// `cascade tail` (alias subscribe): subscribes through the SDK and prints each message as
// it arrives, until --limit messages, --timeout, or Ctrl-C. The SDK resumes across
// reconnects, so a tail survives an edge restart without gaps.
import type { Message } from '@cascade/client';
import { channelArg, durationOption, Failure, intOption, parse, parseSince, str, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { connectionSettings, CONNECTION_HELP, CONNECTION_OPTIONS, describeError, openClient } from '../connect.js';
import { elapsed, messageJson, messageLine, toJson } from '../format.js';

export const tailCommand: Command = {
  name: 'tail',
  help: `Usage: cascade tail <channel...> [options]      (alias: subscribe)

Prints each message, one per line: time, channel, #seq, sender, data (JSON). With --json,
one object per line: {"channel", "seq", "ep", "ts", "from", "key", "data"}. Status lines
("subscribed to ...", reconnects) go to stderr. Stops after --limit messages, after
--timeout, or on Ctrl-C.

Options:
  --since <ep:seq>   start after this position (one channel only; as printed by --json as
                     ep and seq), or 0 for the oldest retained message
  --limit <n>        exit 0 after n messages (all channels together)
  --timeout <d>      stop after <d> (30s, 5m): exit 0, or 1 if --limit was not reached
${CONNECTION_HELP}
  --json             one JSON object per message line, no progress

Examples:
  npx cascade tail chat:room1 news
  npx cascade tail orders --since 0 --limit 10 --json | jq .data`,
  async run(argv, ctx) {
    const { values, positionals } = parse('tail', argv, { since: { type: 'string' }, limit: { type: 'string' }, timeout: { type: 'string' }, ...CONNECTION_OPTIONS }, { min: 1, max: 128 });
    const out = ctx.output(values['json'] === true);
    const channels = positionals.map((c) => channelArg(c));
    if (new Set(channels).size !== channels.length) throw new UsageError('a channel is listed twice');
    const sinceRaw = str(values, 'since');
    if (sinceRaw !== undefined && channels.length > 1) throw new UsageError('--since applies to one channel; tail the others separately');
    const since = sinceRaw === undefined ? undefined : parseSince(sinceRaw);
    const limit = intOption(values, 'limit', 1, Number.MAX_SAFE_INTEGER);
    const timeoutMs = durationOption(values, 'timeout', 100, 366 * 86_400_000);
    const settings = connectionSettings(values, ctx.env);

    const client = await openClient(settings, { subs: channels }, ctx.signal);
    const started = Date.now();
    let received = 0;
    let finish!: (r: { code: number; failure?: Failure }) => void;
    const finished = new Promise<{ code: number; failure?: Failure }>((resolve) => (finish = resolve));
    const progress = () => out.progress(`tailing ${channels.join(', ')}: ${received} message${received === 1 ? '' : 's'}${limit === undefined ? '' : ` of ${limit}`}`);

    const onMessage = (m: Message) => {
      if (limit !== undefined && received >= limit) return;
      received++;
      if (out.json) out.value(toJson(messageJson(m)));
      else out.line(messageLine(m, out.style));
      progress();
      if (limit !== undefined && received >= limit) finish({ code: 0 });
    };
    client.on('disconnected', (d) => {
      if (d.reconnect) out.error(`connection lost (${d.reason || d.code}); reconnecting, the subscriptions resume where they were`);
    });
    client.on('state', (s) => {
      if (s === 'failed') finish({ code: 1, failure: new Failure(`the connection failed: ${describeError(client.error)}`) });
    });
    const subs = channels.map((ch) =>
      client.subscribe(
        ch,
        {
          onMessage,
          onRecoveryImpossible: (r) => out.error(`${r.channel}: messages were lost (${r.reason}${r.missing ? `, seq ${r.missing.from}-${r.missing.to}` : ''}); continuing with newer ones`),
          onError: (e) => out.error(`${ch}: ${describeError(e)}`),
        },
        since === undefined ? {} : { since },
      ),
    );
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
      const short = limit !== undefined && received < limit;
      finish(short ? { code: 1, failure: new Failure(`timed out after ${elapsed(timeoutMs)} with ${received} of ${limit} messages`) } : { code: 0 });
    }, timeoutMs);
    const onAbort = () => finish({ code: 0 });
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    try {
      await Promise.all(
        subs.map(async (sub, i) => {
          const info = await sub.ready;
          // Always on stderr, --json too: a script can wait for it before publishing.
          out.error(`subscribed to ${channels[i]}${info.resumed ? ' (resumed from --since)' : ''}`);
        }),
      ).catch((err: unknown) => finish({ code: 1, failure: new Failure(`cannot subscribe: ${describeError(err)}`) }));
      progress();
      const result = await finished;
      if (result.failure) throw result.failure;
      return result.code;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      out.clearProgress();
      await client.close();
      out.note(out.style.dim(`${received} message${received === 1 ? '' : 's'} in ${elapsed(Date.now() - started)}`));
    }
  },
};
