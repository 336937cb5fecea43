import { describe, expect, it } from 'vitest';
import { COMMANDS, run } from './cli.js';
import type { Context } from './command.js';
import { Output, type Stream } from './output.js';

class Capture implements Stream {
  text = '';
  constructor(readonly isTTY = false) {}
  write(t: string): boolean {
    this.text += t;
    return true;
  }
}

async function cli(...argv: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const ctx: Context = { env: {}, stdout, stderr, signal: new AbortController().signal, output: (json) => new Output(stdout, stderr, json) };
  const code = await run(argv, ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('cli dispatch', () => {
  it('lists every command in the main help, and shows each command its own help', async () => {
    const main = await cli('--help');
    expect(main.code).toBe(0);
    for (const c of COMMANDS) expect(main.stdout).toContain(`  ${c.name} `);
    expect((await cli()).code).toBe(2);
    for (const c of COMMANDS) {
      const h = await cli(c.name, '--help');
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^Usage: cascade ${c.name}`));
    }
    expect((await cli('help', 'stats')).stdout).toMatch(/^Usage: cascade stats/);
    expect((await cli('subscribe', '--help')).stdout).toMatch(/^Usage: cascade tail/);
  });

  it.each([
    [['frobnicate'], /^cascade: unknown command "frobnicate"/],
    [['publish', 'news'], /^cascade publish: missing argument\nRun cascade publish --help for usage.\n$/],
    [['publish', 'news', 'hello'], /data must be JSON/],
    [['publish', 'news', '1', '--count', '0'], /--count must be an integer from 1 to 1000000/],
    [['publish', 'news', '1', '--key', 'a b'], /--key must be 1-128 characters/],
    [['publish', 'news', '1', '--token', 't', '--user', 'u'], /either --token or --user/],
    [['tail', 'news', 'news'], /a channel is listed twice/],
    [['tail', 'news', '--since', 'later'], /--since must be <epoch>:<seq>/],
    [['tail', 'news', '--timeout', '0s'], /--timeout must be a duration/],
    [['token'], /--user is required/],
    [['token', '--user', 'u', '--ttl', 'forever'], /--ttl must be a duration/],
    [['history', 'news', '--limit', '5000'], /--limit must be an integer from 1 to 1000/],
    [['history', 'news', '--http', 'ws://x'], /--http must start with http:\/\/ or https:\/\//],
    [['presence', 'alice', '--channel', 'x'], /give users or --channel, not both/],
    [['presence', 'alice', '--prefix', '1x'], /--prefix must be a letter/],
    [['presence', 'alice', '--nats', 'http://x/y'], /--nats must be like nats:\/\//],
    [['stats', 'extra'], /unexpected argument "extra"/],
  ])('cascade %j exits 2 with a clear message', async (argv, message) => {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('prints a token alone on stdout, and its claims with --json', async () => {
    const plain = await cli('token', '--user', 'alice', '--ttl', '1m');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(plain.stderr).toMatch(/^user alice, expires \S+, development secret\n$/);
    const json = await cli('token', '--user', 'alice', '--pubs', 'a,b', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ claims: { sub: 'alice', pubs: ['a', 'b'] } });
    expect(json.stderr).toBe('');
  });
});

describe('output', () => {
  it('shows progress and colour only on a terminal without --json', () => {
    const out = new Capture(true);
    const err = new Capture(true);
    const o = new Output(out, err, false);
    o.progress('3 of 10');
    o.line('message');
    expect(err.text).toBe('\r\x1b[K\x1b[2m3 of 10\x1b[0m\r\x1b[K');
    expect(out.text).toBe('message\n');
    const piped = new Output(new Capture(false), err, false);
    expect(piped.interactive).toBe(false);
    expect(new Output(out, err, true).interactive).toBe(false);
    expect(new Output(out, err, false, { NO_COLOR: '1' }).style.dim('x')).toBe('x');
  });
});
