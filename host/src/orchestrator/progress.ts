/**
 * Progress of long work (`hil bench`, `hil flash`, a long differential run): what is being done
 * and how far along it is. On a terminal, one bar redrawn in place (cli-progress: maintained, no
 * dependencies beyond string-width, and its MultiBar keeps figure lines printed above the bar);
 * elsewhere (a CI log, a pipe), plain lines, never redrawn: one when a step starts, one every
 * LINE_EVERY_MS while a counted step runs (done/total and the time so far), one when it ends
 * with its duration. Progress goes to stderr by
 * default, so stdout keeps only the figures and a JSON line a script can read.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Starts a step (ending the one before): what it does, and how many units it has when known. */
  step(what: string, total?: number): void;
  /** Units of the current step done so far (0..total). */
  update(done: number): void;
  /** A line that stays (a figure, a warning): to stdout, above the bar on a terminal. */
  log(line: string): void;
  /** Ends the current step and the display; safe to call twice. */
  stop(): void;
}

/** Where progress goes: a stream (isTTY decides the style) and, for log(), where lines go. */
export interface ProgressOptions {
  /** Shown before every step, e.g. "bench". */
  title: string;
  /** Where progress is drawn; default process.stderr. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where log() lines go; default process.stdout. */
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force the style (default: a bar when `stream` is a terminal). */
  tty?: boolean;
  /** Milliseconds, monotonic (tests pass a fake). */
  now?: () => number;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Without a terminal, a running counted step prints a line at most this often. */
export const LINE_EVERY_MS = 5000;

/** Plain lines: `title: what (20) ...`, `title: what: 50% (10/20, 6.0 s)`, `title: what: done in 12.0 s`. */
class LineProgress implements Progress {
  private what: string | undefined;
  private total: number | undefined;
  private started = 0;
  private lastLine = 0;

  constructor(private readonly o: Required<Pick<ProgressOptions, 'title' | 'now'>> & { stream: NodeJS.WritableStream; out: NodeJS.WritableStream }) {}

  step(what: string, total?: number): void {
    this.end();
    this.what = what;
    this.total = total;
    this.started = this.o.now();
    this.lastLine = this.started;
    this.o.stream.write(`${this.o.title}: ${what}${total !== undefined ? ` (${total})` : ''} ...\n`);
  }

  update(done: number): void {
    if (this.what === undefined || !this.total) return;
    const t = this.o.now();
    if (t - this.lastLine < LINE_EVERY_MS) return;
    this.lastLine = t;
    this.o.stream.write(`${this.o.title}: ${this.what}: ${Math.floor((100 * Math.min(done, this.total)) / this.total)}% (${done}/${this.total}, ${seconds(t - this.started)})\n`);
  }

  log(line: string): void {
    this.o.out.write(`${line}\n`);
  }

  stop(): void {
    this.end();
  }

  private end(): void {
    if (this.what === undefined) return;
    this.o.stream.write(`${this.o.title}: ${this.what}: done in ${seconds(this.o.now() - this.started)}\n`);
    this.what = undefined;
  }
}

/** A bar redrawn in place (cli-progress), the step's name and elapsed time beside it. */
class BarProgress implements Progress {
  private readonly bars: cliProgress.MultiBar;
  private bar: cliProgress.SingleBar | undefined;
  private counted = false;

  constructor(private readonly o: { title: string; stream: NodeJS.WritableStream; out: NodeJS.WritableStream & { isTTY?: boolean } }) {
    this.bars = new cliProgress.MultiBar(
      {
        stream: o.stream,
        format: (options, params, payload: { what: string; counted: boolean }) => {
          const elapsed = seconds(Date.now() - params.startTime);
          if (!payload.counted) return `${o.title}: ${payload.what}  ${elapsed}`;
          const bar = cliProgress.Format.BarFormat(params.progress, options);
          return `${o.title} ${bar} ${params.value}/${params.total}  ${payload.what}  ${elapsed}`;
        },
        // A hidden cursor would stay hidden after a Ctrl-C that ends the process before stop().
        hideCursor: false,
        clearOnComplete: true,
        stopOnComplete: false,
        barsize: 24,
        fps: 5,
        // Drawn on the terminal it was given, whatever cli-progress thinks of the stream.
        noTTYOutput: true,
        notTTYSchedule: 200,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  step(what: string, total?: number): void {
    if (this.bar) this.bars.remove(this.bar);
    this.counted = total !== undefined && total > 0;
    this.bar = this.bars.create(this.counted ? total! : 1, 0, { what, counted: this.counted });
    this.bars.update(); // drawn now, however short the step: the redraw timer may never fire for it
  }

  update(done: number): void {
    if (this.bar && this.counted) this.bar.update(done);
  }

  log(line: string): void {
    // On one terminal the line goes above the bar; to a pipe it is written as it is.
    if (this.o.out.isTTY) this.bars.log(`${line}\n`);
    else this.o.out.write(`${line}\n`);
  }

  stop(): void {
    if (this.bar) this.bars.remove(this.bar);
    this.bar = undefined;
    this.bars.stop();
  }
}

/** A Progress on `stream`: a bar on a terminal, plain lines elsewhere. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const out = options.out ?? process.stdout;
  const tty = options.tty ?? Boolean(stream.isTTY);
  return tty ? new BarProgress({ title: options.title, stream, out }) : new LineProgress({ title: options.title, now: options.now ?? (() => performance.now()), stream, out });
}

/** A Progress that shows nothing and logs lines to `out` (default stdout): for library callers. */
export function quietProgress(out: NodeJS.WritableStream = process.stdout): Progress {
  return { step: () => undefined, update: () => undefined, log: (line) => void out.write(`${line}\n`), stop: () => undefined };
}
