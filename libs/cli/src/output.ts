// Where a command writes: results on stdout, notes and errors on stderr, and a one-line
// progress counter for people. Progress and colour only when stdout is a terminal and
// --json is off, so pipes and scripts get clean, stable text.
import { COLOR, PLAIN, type Style } from './format.js';

export interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class Output {
  readonly style: Style;
  /** People are watching: progress lines and colour. */
  readonly interactive: boolean;
  private progressShown = false;

  constructor(
    private readonly out: Stream,
    private readonly err: Stream,
    readonly json: boolean,
    env: Record<string, string | undefined> = {},
  ) {
    this.interactive = !json && out.isTTY === true && err.isTTY === true;
    this.style = this.interactive && env['NO_COLOR'] === undefined ? COLOR : PLAIN;
  }

  /** One line of results. */
  line(text: string): void {
    this.clearProgress();
    this.out.write(`${text}\n`);
  }

  /** One JSON value per line (scripts read the output with a line reader). */
  value(v: string): void {
    this.out.write(`${v}\n`);
  }

  /** A note for people (what is happening, summaries): stderr, so stdout stays the data. */
  note(text: string): void {
    if (this.json) return;
    this.clearProgress();
    this.err.write(`${text}\n`);
  }

  error(text: string): void {
    this.clearProgress();
    this.err.write(`${text}\n`);
  }

  /** Replaces the progress line in place (a terminal only). */
  progress(text: string): void {
    if (!this.interactive) return;
    this.err.write(`\r\x1b[K${this.style.dim(text)}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (!this.progressShown) return;
    this.err.write('\r\x1b[K');
    this.progressShown = false;
  }
}
