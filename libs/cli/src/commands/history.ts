// `cascade history`: reads a channel's stored messages through the edge's HTTP API
// (GET /v1/channels/<ch>/history), forward from --from or backward with --back.
import { channelArg, durationOption, flag, intOption, parse, str, urlOption } from '../args.js';
import type { Command } from '../command.js';
import { fromHistoryFrame, messageLine, toJson } from '../format.js';
import { apiError, httpGet, jsonBody } from '../http.js';

export const HTTP_HELP = `  --http <url>       the edge's HTTP address (env CASCADE_HTTP, default http://127.0.0.1:8080)
  --timeout <d>      give up after <d> without an answer (default 5s)`;

interface HistoryBody {
  ep: string;
  seq: number;
  first: number;
  next?: number;
  messages: Record<string, unknown>[];
}

export const historyCommand: Command = {
  name: 'history',
  help: `Usage: cascade history <channel> [options]

Reads stored messages through the edge's HTTP API. Prints one message per line (time,
channel, #seq, sender, data) and the channel's position on stderr; with --json, the API's
answer as one object: {"ep", "seq", "first", "next", "messages": [...]}.

Options:
  --from <seq>       first seq to read (default: the oldest retained; with --back, the newest)
  --limit <n>        at most n messages (1-1000, default 100)
  --back             newest first, going back from --from
  --api-key <k>      the edge's EDGE_API_KEY, when it is set (env CASCADE_API_KEY)
${HTTP_HELP}
  --json             print the API's answer as JSON

Examples:
  npx cascade history chat:room1 --back --limit 20
  npx cascade history orders --from 500 --json | jq '.messages[].data'`,
  async run(argv, ctx) {
    const { values, positionals } = parse('history', argv, { from: { type: 'string' }, limit: { type: 'string' }, back: { type: 'boolean' }, 'api-key': { type: 'string' }, http: { type: 'string' }, timeout: { type: 'string' } }, { min: 1, max: 1 });
    const out = ctx.output(values['json'] === true);
    const channel = channelArg(positionals[0]!);
    const from = intOption(values, 'from', 0, Number.MAX_SAFE_INTEGER);
    const limit = intOption(values, 'limit', 1, 1000);
    const base = urlOption(values, 'http', ctx.env['CASCADE_HTTP'] ?? 'http://127.0.0.1:8080', ['http:', 'https:']);
    const timeoutMs = durationOption(values, 'timeout', 100, 600_000) ?? 5000;
    const url = new URL(`/v1/channels/${encodeURIComponent(channel)}/history`, base);
    url.searchParams.set('dir', flag(values, 'back') ? 'back' : 'fwd');
    if (from !== undefined) url.searchParams.set('from', String(from));
    if (limit !== undefined) url.searchParams.set('limit', String(limit));

    const answer = await httpGet(url, { apiKey: str(values, 'api-key') ?? ctx.env['CASCADE_API_KEY'], timeoutMs });
    if (answer.status !== 200) throw apiError(url, answer);
    const body = jsonBody(url, answer) as HistoryBody;
    if (out.json) {
      out.value(toJson(body));
      return 0;
    }
    for (const m of body.messages) out.line(messageLine(fromHistoryFrame(m), out.style));
    const s = out.style;
    if (body.seq === 0) out.note(s.dim(`${channel}: no stored messages`));
    else {
      out.note(s.dim(`${channel}: epoch ${body.ep}, seq ${body.first}-${body.seq} retained, ${body.messages.length} shown`));
      if (body.next !== undefined) out.note(s.dim(`more: --from ${body.next}${flag(values, 'back') ? ' --back' : ''}`));
    }
    return 0;
  },
};
