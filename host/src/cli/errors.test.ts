/**
 * The README's tables of exit codes and of mistakes, checked against the real thing: the exit-code
 * table must be the one `hil --help` prints (orchestrator/exit-codes.ts), and every row of the
 * mistakes table is run as written (`node bin/hil.js ...`, or the example script under tsx), in an
 * empty folder holding only the files the README names, with a PATH holding only `sh` (so a tool
 * the row needs is missing on any machine). A row's exit code must be the README's, its message the
 * last line of stderr (stdout for exit 0), stdout empty on an error, no stack trace, and nothing
 * left in the folder but what the command announced: no reports/ for a run that never started.
 * One list, the README's: a row added there is tested, a message changed in the code fails here.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { exitCodeMarkdown } from '../orchestrator/exit-codes.js';

const README = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

/** The README's text between `<!-- name:begin ... -->` and `<!-- name:end -->`. */
function section(name: string): string {
  const m = new RegExp(`<!-- ${name}:begin[^>]*-->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(README);
  if (!m) throw new Error(`README.md has no <!-- ${name}:begin --> ... <!-- ${name}:end --> section`);
  return m[1]!;
}

/** A markdown cell's text: its code span's content (one or two backticks) or the cell as it is. */
function cellText(cell: string): string {
  const c = cell.trim();
  const m = /^(`+) ?([\s\S]*?) ?\1$/.exec(c);
  return m ? m[2]! : c;
}

interface Row {
  input: string;
  exit: number;
  message: string;
}

function rows(): Row[] {
  const lines = section('bad-input').split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) => {
    const cells = l.slice(1, -1).split(/(?<!\\) \| /);
    if (cells.length !== 3) throw new Error(`README bad-input row has ${cells.length} cells, not 3: ${l}`);
    return { input: cellText(cells[0]!), exit: Number(cellText(cells[1]!)), message: cellText(cells[2]!).replace(/\\\|/g, '|') };
  });
}

/** Words of a command line as sh reads this table's: spaces separate, '...' quotes. */
function words(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The files every row's folder holds, as the README's text above the table describes them. */
const FILES: Record<string, string> = {
  'kynd.json': JSON.stringify({ name: 'kynd', kynd: 'serial', port: { path: '/dev/ttyUSB0' } }),
  'a-file': '',
  'nosim.json': JSON.stringify({ name: 'nosim', kind: 'sim', firmware: { sim: 'no-such-cvm-sim' } }),
  'broken.test.mts': "it('never runs', () => { const a: number = ; });\n",
};

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new ManagedProcess('errors.test row', process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  await p.exitWithin(60_000);
  return { code: p.exitCode, stdout, stderr };
}

describe('README: exit codes and mistakes (each row run as written)', function () {
  this.timeout(90_000);
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  let root = '';
  let bin = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hil-errors-'));
    bin = join(root, 'bin');
    mkdirSync(bin);
    symlinkSync('/bin/sh', join(bin, 'sh'));
  });
  after(async () => {
    await Promise.all(workers); // every row started has ended (with --grep too: they all run)
    rmSync(root, { recursive: true, force: true });
    expect(liveChildPids(), 'children left running').to.deep.equal([]);
  });

  it('the exit-code table is the one hil --help prints (orchestrator/exit-codes.ts)', () => {
    expect(section('exit-codes')).to.equal(exitCodeMarkdown());
  });

  const table = rows();
  it('lists the mistakes', () => expect(table.length).to.be.greaterThan(10));

  /** Runs one row in its own folder; resolves with what it printed and what it left there. */
  async function runRow(row: Row, i: number) {
    const cwd = join(root, `row-${i}`);
    mkdirSync(cwd);
    for (const [name, text] of Object.entries(FILES)) writeFileSync(join(cwd, name), text);
    const port = row.input.includes('<closed port>') ? String(await closedPort()) : '';
    const fill = (s: string) => s.replace(/<closed port>/g, port).replace(/<version>/g, version).replace(/<folder>/g, cwd);
    const [command, ...args] = words(fill(row.input));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, FORCE_COLOR: '0' };
    delete env.HIL_TARGET;
    delete env.HIL_LINK;
    let r;
    if (command === 'hil') {
      r = await run([join(REPO_ROOT, 'bin', 'hil.js'), ...args], cwd, env);
    } else if (command === 'npx' && args[0] === 'tsx' && args[1]?.startsWith('examples/')) {
      // The examples are run from the checkout, as the README shows them.
      r = await run(['--import', 'tsx', ...args.slice(1)], REPO_ROOT, env);
    } else {
      throw new Error(`README bad-input row: cannot run "${row.input}" (rows start with hil or npx tsx examples/)`);
    }
    return { ...r, cwd, message: fill(row.message), left: readdirSync(cwd).sort() };
  }

  // The rows run a few at a time (each is a process that starts tsx: mostly CPU), reported one by one.
  const results = new Map<number, ReturnType<typeof runRow>>();
  const workers: Promise<void>[] = [];
  before(() => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < table.length) {
        const i = next++;
        const p = runRow(table[i]!, i);
        results.set(i, p);
        await p.catch(() => undefined);
      }
    };
    for (let w = 0; w < 3; w++) workers.push(worker());
  });

  for (const [i, row] of table.entries()) {
    it(`${row.input} → exit ${row.exit}`, async () => {
      while (!results.has(i)) await new Promise((resolve) => setTimeout(resolve, 20));
      const r = await results.get(i)!;
      const shown = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
      expect(r.code, shown).to.equal(row.exit);
      const out = (row.exit === 0 ? r.stdout : r.stderr).trimEnd().split('\n');
      const said = row.exit === 0 ? out[0] : out.at(-1);
      // `<n>` in a message stands for a count that changes as the suite grows (the tests in it).
      if (r.message.includes('<n>')) expect(said, shown).to.match(new RegExp(`^${r.message.split('<n>').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('\\d+')}$`));
      else expect(said, shown).to.equal(r.message);
      if (row.exit !== 0) {
        expect(r.stdout, 'nothing on stdout for a command that failed').to.equal('');
        for (const line of out.slice(0, -1)) expect(line, `an earlier stderr line is progress, not an error or a stack: ${shown}`).not.to.match(/^\s+at |^\w*Error\b|^(hil|soak|diagnostics): /);
      }
      // Nothing made but what the command announced (a capture file): no reports/ for a run that never started.
      const announced = [...r.stderr.matchAll(/capturing to (\S+?)[;,]/g)].map((m) => m[1]!);
      for (const f of announced) expect(existsSync(join(r.cwd, f)), `${f} was announced`).to.equal(true);
      expect(r.left).to.deep.equal([...Object.keys(FILES), ...announced].sort());
    });
  }
});
