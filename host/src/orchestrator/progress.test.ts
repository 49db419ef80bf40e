/**
 * Progress of long work: plain lines when not on a terminal (a fake clock and stream), and a bar
 * redrawn in place on a real pseudo-terminal (script(1), util-linux / Debian bsdutils).
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { LINE_EVERY_MS, createProgress } from './progress.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { needTools } from '../testing/tools.js';

const run = promisify(execFile);
const DEMO = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'progress-demo.ts');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, text: () => text };
}

describe('progress', function () {
  this.timeout(30_000);

  it('without a terminal: one line a step, a line every LINE_EVERY_MS of a counted step, one at its end; figures to stdout', () => {
    let t = 0;
    const err = capture();
    const out = capture();
    const p = createProgress({ title: 'bench', stream: err.stream, out: out.stream, now: () => t });
    p.step('sim: pipelined operations', 200);
    for (let i = 1; i <= 200; i++) {
      t += 100; // 20 s in all: lines at 5, 10, 15 and 20 s
      p.update(i);
    }
    p.log('sim: pipelined 1520 ops/s');
    p.step('sim: boot to ready');
    t += 1234;
    p.stop();
    p.stop();
    expect(LINE_EVERY_MS).to.equal(5000);
    expect(err.text().split('\n')).to.deep.equal([
      'bench: sim: pipelined operations (200) ...',
      'bench: sim: pipelined operations: 25% (50/200, 5.0 s)',
      'bench: sim: pipelined operations: 50% (100/200, 10.0 s)',
      'bench: sim: pipelined operations: 75% (150/200, 15.0 s)',
      'bench: sim: pipelined operations: 100% (200/200, 20.0 s)',
      'bench: sim: pipelined operations: done in 20.0 s',
      'bench: sim: boot to ready ...',
      'bench: sim: boot to ready: done in 1.2 s',
      '',
    ]);
    expect(err.text()).not.to.match(/\r|\x1b/);
    expect(out.text()).to.equal('sim: pipelined 1520 ops/s\n');
  });

  it('on a pipe (a CI log), a real process prints plain lines only', async () => {
    const r = await run(TSX, [DEMO], { cwd: REPO_ROOT, env: { ...process.env, FORCE_COLOR: '0' } });
    expect(r.stdout).to.equal('figure: 42\n');
    expect(r.stderr).to.match(/^demo: counting \(4\) \.\.\.\ndemo: counting: done in \d+\.\d s\ndemo: waiting \.\.\.\ndemo: waiting: done in \d+\.\d s\n$/);
    expect(r.stderr).not.to.match(/\r|\x1b/);
  });

  it('on a terminal (a real pty through script(1)): a bar redrawn in place, the figure above it', async function () {
    needTools(this, [['script', 'bsdutils']]);
    // script -q: no banner; -e: its exit code is the command's; -c: the command; output file /dev/null (the pty's bytes come on stdout).
    const r = await run('script', ['-qec', `${TSX} ${DEMO}`, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, FORCE_COLOR: '0', TERM: 'xterm' }, timeout: 20_000 });
    const tty = r.stdout;
    expect(tty).to.match(/\x1b\[1G/); // redrawn in place (cursor to the first column)
    expect(tty).to.contain('\x1b[0K'); // the rest of the old line erased
    const frames = tty.match(/demo [█░]+ [0-4]\/4  counting/g) ?? [];
    expect(frames.length, tty).to.be.greaterThan(1); // drawn more than once, as the count went up
    expect(new Set(frames).size).to.be.greaterThan(1);
    expect(tty).to.contain('figure: 42');
    expect(tty).to.contain('demo: waiting');
    expect(tty).not.to.match(/done in/); // no plain lines on a terminal
  });
});
