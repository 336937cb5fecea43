// Tests for the markdown table describeConfig renders.
import { describe, expect, it } from 'vitest';
import { describeConfig } from './describe.js';
import { duration } from './quantities.js';
import { oneOf, optionalStr, port, str } from './scalars.js';

describe('describeConfig', () => {
  it('renders a markdown table with defaults, required and optional variables', () => {
    const table = describeConfig({
      edgePort: port({ env: 'EDGE_PORT', describe: 'listen port; 0 picks a free port', default: 8080 }),
      natsUrl: str({ env: 'NATS_URL', describe: 'NATS server URL' }),
      region: optionalStr({ env: 'REGION', describe: 'a | b' }),
      prefix: str({ env: 'PREFIX', describe: 'subject prefix', default: '' }),
      timeout: duration({ env: 'TIMEOUT', describe: 'request timeout', default: '30s' }),
      level: oneOf({ env: 'LEVEL', describe: 'level', values: ['x', 'y'], default: 'y' }),
    });
    expect(table).toBe(
      [
        '| Variable | Default | Meaning |',
        '| --- | --- | --- |',
        '| `EDGE_PORT` | `8080` | listen port; 0 picks a free port |',
        '| `NATS_URL` | **required** | NATS server URL |',
        '| `REGION` | *(unset)* | a \\| b |',
        '| `PREFIX` | `""` | subject prefix |',
        '| `TIMEOUT` | `30s` | request timeout |',
        '| `LEVEL` | `y` | level |',
        '',
      ].join('\n'),
    );
  });
});
