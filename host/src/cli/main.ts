/**
 * `hil`: a thin command-line layer over the public API (targets, boards, client, orchestrator).
 * Exit codes: orchestrator/exit-codes.ts, the one table (printed by --help) and the one mapping
 * from errors to codes; every way out of this file goes through the catch at its end, commander's
 * own errors included (exitOverride), so each ends as one line `hil: ...` and its code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { globSync, hasMagic } from 'glob';
import { openLink, openTarget, parseTargetSpec, resetBoard, whereOf, TARGET_HELP, type Target } from '../targets/index.js';
import { boardNames, displayPath, loadBoard } from '../boards/index.js';
import { formatLinkSpec, hasFaults, parseLinkSpec, withSeed, LINK_SPEC_HELP } from '../transport/emulator.js';
import { checkReportDir, checkReporter, checkSpecFiles, grepPattern, runSuite } from '../orchestrator/run-suite.js';
import { EXIT, UsageError, errorLine, exitCodeHelp, exitCodeOf } from '../orchestrator/exit-codes.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { loadConfig, withArtefacts, type HilConfig } from '../orchestrator/config.js';
import { formatSummary, parallelExitCode, reportName, runBoardsInParallel } from '../orchestrator/parallel.js';
import { adapterLatencyOf, collectDiagnostics, formatDiagnostics } from '../orchestrator/diag.js';
import { benchJsonLine, runBench } from '../orchestrator/bench-run.js';
import { createProgress, quietProgress } from '../orchestrator/progress.js';
import { flashAndVerify, formatFlashSummary } from '../orchestrator/flash.js';
import { formatPortReport, listPorts } from '../orchestrator/list.js';
import { createCapture, monitorTransport, replayCapture } from '../orchestrator/monitor.js';
import { mergeReports } from '../orchestrator/report-merge.js';
import { onInterrupt } from '../process/interrupt.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];
const BOARD_HELP = 'a board descriptor: a name in boards/ (e.g. stm32f407-discovery) or a path to one; repeatable';

let loadedConfig: HilConfig | undefined;
/** The project's config (--config, or the nearest hil.config.json), loaded once. */
function config(): HilConfig {
  loadedConfig ??= loadConfig(program.opts<{ config?: string }>().config ?? undefined);
  return loadedConfig;
}

/** A board by name (the config's board folders first, then the package's) or path, with the config's artefacts. */
function board(nameOrPath: string): Target {
  return withArtefacts(loadBoard(nameOrPath, config().boardDirs), config());
}

/** The default target: HIL_TARGET, else the config's `target` (a board name in its folders, or a spec), else twin. */
function defaultTarget(): Target {
  const name = process.env.HIL_TARGET || config().target || 'twin';
  const isBoard = !name.includes(':') && config().boardDirs.some((d) => boardNames(d).includes(name)) && !['twin', 'twin-pty', 'sim', 'qemu'].includes(name);
  return isBoard ? board(name) : withArtefacts(parseTargetSpec(name), config());
}

/**
 * The descriptors a command runs against: its --board descriptors or its --target specs (parsed
 * into descriptors), else the default target. Both given is a usage error.
 */
function targetsOf(boards: string[], targets: string[] | undefined): Target[] {
  if (boards.length && targets?.length) throw new UsageError('give --target or --board, not both');
  if (boards.length) return boards.map(board);
  if (targets?.length) return targets.map((t) => withArtefacts(parseTargetSpec(t), config()));
  return [defaultTarget()];
}

function oneTarget(cmd: Command, boards: string[], target: string | undefined): Target {
  const ts = targetsOf(boards, target !== undefined ? [target] : undefined);
  if (ts.length > 1) throw new UsageError(`${cmd.name()} runs against one board at a time (got ${ts.length} --board)`);
  return ts[0]!;
}

/**
 * The spec files `hil test` runs: its arguments (paths or globs), else the config's `specs`, else
 * none (the built-in suite). A path that does not exist, or a glob matching nothing, is a usage error.
 */
function specFiles(args: string[]): string[] | undefined {
  const patterns = args.length ? args.map((a) => resolve(a)) : config().specs;
  if (!patterns.length) return undefined;
  const from = args.length ? 'the command line' : displayPath(config().file!);
  const files: string[] = [];
  for (const p of patterns) {
    if (hasMagic(p, { windowsPathsNoEscape: true })) {
      const found = globSync(p, { absolute: true, nodir: true, ignore: '**/node_modules/**' }).sort();
      if (!found.length) throw new UsageError(`no spec file matches ${displayPath(p)} (from ${from}); fix the glob`);
      files.push(...found);
    } else {
      if (!existsSync(p)) throw new UsageError(`no such spec file: ${displayPath(p)} (from ${from}); fix the path`);
      files.push(p);
    }
  }
  return [...new Set(files)];
}

const LINK_HELP = 'run the link through the link emulator (seeded byte faults, USB-UART pacing), e.g. ber=1e-3,seed=7 or baud=115200,latency=16; "none" for a clean link; overrides a descriptor\'s link (env HIL_LINK)';

/**
 * The link a command runs through: --link (or HIL_LINK), else the descriptor's `link`, checked,
 * its seed fixed and printed when it injects faults, so the run can be replayed. Returns the
 * canonical spec text ("none" for a clean link).
 */
function linkOf(cli: string | undefined, target?: Target): string {
  const text = cli ?? target?.link;
  if (text === undefined) return 'none';
  const spec = parseLinkSpec(text, cli !== undefined ? '--link' : `${whereOf(target!)}: /link`);
  if (!spec) return 'none';
  const fixed = hasFaults(spec) ? withSeed(spec) : spec;
  const canonical = formatLinkSpec(fixed);
  console.error(`link emulator: ${canonical}${hasFaults(fixed) ? ` (faults seeded; replay with --link '${canonical}')` : ''}`);
  return canonical;
}

const linkOption = () => new Option('--link <spec>', LINK_HELP).env('HIL_LINK');

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer (got "${v}")`);
  return n;
};

const program = new Command();
program
  .name('hil')
  .description('Hardware-in-the-loop orchestrator for the ComponentVM static memory pool')
  // Inherited by every command defined below: commander's errors (unknown option or command, a
  // missing value, extra arguments) and --help/--version end in the catch at the end of this file.
  .exitOverride()
  .configureOutput({ outputError: () => {} })
  .version((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version, '-V, --version', 'print the version of hil')
  .option('-c, --config <file>', `the project's config (default: the nearest hil.config.json at or above the working directory)`)
  .addHelpText('after', `\nTargets:\n${TARGET_HELP}\n\nBoards: a descriptor in boards/ (or a path to one) names a target and says how to flash and reset it;\n--board NAME works wherever --target does.\n\nLink emulator (--link on test, diag, bench and monitor; env HIL_LINK; a descriptor's "link"):\n  ${LINK_SPEC_HELP}\n\nExamples:\n  hil test --target twin\n  hil test --target serial:/dev/ttyUSB0 --grep arrays\n  hil test --board sim-small\n  hil diag --target twin --json\n  hil list\n  hil flash --board stm32f407-discovery\n  hil monitor --board stm32f407-discovery --hello\n\n${exitCodeHelp()}`);

program
  .command('test')
  .description('run a HIL suite against a target: your spec files (paths or globs; TypeScript or JavaScript), the config\'s "specs", or else the built-in conformance suite (hil-tests/); ends with Mocha\'s summary')
  .argument('[files...]', 'spec files or globs (default: the config\'s "specs", else the built-in suite)')
  .option('-t, --target <spec>', 'target to test (default: env HIL_TARGET, the config\'s "target", else twin)')
  .option('-g, --grep <pattern>', 'only run tests whose full title matches')
  .option('-b, --board <name|path>', BOARD_HELP, collect, [])
  .option('-r, --reporter <name>', 'console reporter: spec, dot, or any Mocha reporter by name or module path (tap, list, json, ...); the report files are written whichever it is', 'spec')
  .option('--report-dir <dir>', 'where junit.xml, run.json and index.html go (default <config reportDir, else reports>/<board or target>; with several boards, one folder per board under it)')
  .addOption(linkOption())
  .addHelpText('after', '\nIn a spec file, the fixture hands each test the target, ready (open, hello, empty pool):\n  import { target, openExtraTarget } from \'componentvm-hil/mocha\';\n  it(\'stores a global\', async () => { const { client } = target(); await client.acquire(0); });\n\nSeveral --board options run the boards in parallel, each in its own process with its own\nconsole log, JUnit XML and JSON run record, then print a summary table.\n\nExamples:\n  hil test --target twin\n  hil test test/hil/*.test.ts --target sim\n  hil test --target twin-pty --grep robustness\n  hil test --target serial:/dev/ttyACM0@115200\n  hil test --board stm32f407-discovery\n  hil test --board twin --board sim --report-dir reports\n  hil test --target sim --link ber=1e-3,seed=7')
  .action(async (fileArgs: string[], opts: { target?: string; board: string[]; grep?: string; reporter: string; reportDir?: string; link?: string }, cmd: Command) => {
    const files = specFiles(fileArgs);
    if (files) checkSpecFiles(files);
    if (opts.board.length > 1) {
      if (opts.target !== undefined) throw new UsageError('give --target or --board, not both');
      opts.board.forEach(board); // every descriptor is checked before any board starts
      // So are the options every board's run would refuse (runSuite checks them for one board).
      if (opts.grep !== undefined) grepPattern(opts.grep);
      checkReportDir(opts.reportDir ?? config().reportDir);
      // A reporter given on the command line reaches every board (each run's lines are prefixed with its board).
      const reporter = cmd.getOptionValueSource('reporter') === 'cli' ? opts.reporter : undefined;
      if (reporter !== undefined) checkReporter(reporter);
      // Each board's own process reads HIL_LINK as its --link: the same seed for every board.
      if (opts.link !== undefined) process.env.HIL_LINK = linkOf(opts.link);
      const cfg = program.opts<{ config?: string }>().config;
      const runs = await runBoardsInParallel(opts.board, { grep: opts.grep, ...(reporter !== undefined ? { reporter } : {}), reportRoot: opts.reportDir ?? config().reportDir, args: [...(cfg ? ['--config', cfg] : []), ...(files ?? [])] });
      console.log('\n' + formatSummary(runs));
      process.exitCode = parallelExitCode(runs);
      return;
    }
    const target = oneTarget(program, opts.board, opts.target);
    const label = opts.board[0] ?? target.name;
    const result = await runSuite({
      target,
      link: linkOf(opts.link, target),
      ...(files ? { files } : {}),
      ...(opts.grep ? { grep: opts.grep } : {}),
      reporter: opts.reporter,
      board: label,
      reportDir: opts.reportDir ?? join(config().reportDir, reportName(label)),
    });
    process.exitCode = result.exitCode;
  });

program
  .command('diag')
  .description('print diagnostics: firmware, limits, uptime, reset cause, unique id, pool occupancy, link latency and throughput')
  .option('-t, --target <spec>', 'target to inspect (default: env HIL_TARGET, the config\'s "target", else twin)')
  .option('-b, --board <name|path>', BOARD_HELP, collect, [])
  .option('--json', 'print one JSON object instead of the report')
  .option('--samples <n>', 'round trips to time (a positive integer)', positiveInt('--samples'), 200)
  .addOption(linkOption())
  .addHelpText('after', '\nExamples:\n  hil diag --target twin\n  hil diag --target serial:/dev/ttyUSB0 --json\n  hil diag --board remote-example\n  hil diag --target sim --link baud=115200,latency=16')
  .action(async (opts: { target?: string; board: string[]; json?: boolean; samples: number; link?: string }, cmd: Command) => {
    const target = oneTarget(cmd, opts.board, opts.target);
    const t = await openTarget(target, { link: linkOf(opts.link, target) });
    try {
      const adapter = adapterLatencyOf(t.transport);
      const d = await collectDiagnostics(t.client, { samples: opts.samples, ...(adapter ? { adapter } : {}) });
      if (opts.json) {
        console.log(JSON.stringify({ ...d, hello: { ...d.hello, uniqueId: Buffer.from(d.hello.uniqueId).toString('hex') } }));
      } else {
        console.log(formatDiagnostics(d));
      }
    } finally {
      await t.close();
    }
  });

program
  .command('bench')
  .description('benchmark targets: single-op round trip, pipelined and batched throughput, host codec cost; for QEMU the raw link\'s echo ceiling measured in the same run; the HIL suite through the link emulator paced like a USB-UART adapter; a JSON line last')
  .option('-t, --target <spec...>', 'targets to measure, in order (default: the default target)')
  .option('-b, --board <name|path>', `${BOARD_HELP}; measured one after another`, collect, [])
  .option('--quick', 'fewer operations (a smoke run)')
  .option('--suite-target <spec>', 'the target the HIL suite runs on through the emulated adapter (115200 baud with latency timers 1 and 16 ms, 921600 with 1 ms); "none" skips it (default sim; none with --quick)')
  .addOption(linkOption())
  .addHelpText('after', '\nProgress goes to stderr (a bar on a terminal, plain lines otherwise); figures and the JSON line to stdout.\n\nExamples:\n  hil bench --target twin\n  hil bench --target twin sim --quick\n  hil bench --target qemu --suite-target none\n  hil bench --board sim --board sim-small --quick\n  hil bench --target sim --quick --link baud=115200,latency=1\n\nnpm run bench:link measures the lossy-link figures (the HIL suite and write-then-verify through the\nlink emulator at several byte error rates, and a dead link).')
  .action(async (opts: { target?: string[]; board: string[]; quick?: boolean; link?: string; suiteTarget?: string }) => {
    const targets = targetsOf(opts.board, opts.target);
    const links = targets.map((t) => linkOf(opts.link, t));
    const suiteTarget = opts.suiteTarget ?? (opts.quick ? 'none' : 'sim');
    try {
      if (suiteTarget !== 'none') parseTargetSpec(suiteTarget); // a bad spec is a usage error now, not minutes into the bench
    } catch (e) {
      throw new UsageError(`--suite-target: ${(e as Error).message}`);
    }
    const progress = createProgress({ title: 'bench' });
    try {
      const report = await runBench({ targets, links, quick: opts.quick, ...(suiteTarget !== 'none' ? { suiteTarget } : {}), progress });
      console.log(benchJsonLine(report));
    } finally {
      progress.stop(); // the terminal's cursor back, whatever happened
    }
  });

program
  .command('report')
  .description('merge run folders (from several boards, machines or CI runners) into one page (index.html) and one JUnit file (junit.xml)')
  .argument('<dirs...>', 'run folders (hil test --report-dir) or folders of them (a parallel run\'s report root)')
  .option('-o, --out <dir>', 'where index.html and junit.xml go (default <config reportDir, else reports>/merged)')
  .addHelpText('after', '\nA run folder may also hold diag.json (hil diag --json > DIR/diag.json) and bench.json\n(hil bench ... > DIR/bench.json): the page shows them. The page is self-contained: open it from disk.\n\nExamples:\n  hil report reports/twin reports/sim\n  hil report ci-artefacts/ --out merged\n  hil report reports/sim --out reports/sim    (its page again, with a diag.json added)')
  .action((dirs: string[], opts: { out?: string }) => {
    const r = mergeReports(dirs, opts.out ?? join(config().reportDir, 'merged'));
    console.log(`report: ${r.folders.length} runs, ${r.tests} tests (${r.failed} failed, ${r.pending} pending, ${r.notRun} not run): ${r.page}, ${r.junit}`);
  });

program
  .command('list')
  .description('list the attached serial ports (USB vendor:product ids, serial numbers, drivers, from sysfs) and the board descriptor that claims each')
  .option('--json', 'print one JSON object instead of the table')
  .option('--sysfs <dir>', 'read this sysfs tree instead of /sys (for tests and containers)')
  .addHelpText(
    'after',
    [
      '',
      'A descriptor claims a port by its path ("port": {"path": ...}) or by its adapter\'s USB ids',
      '("port": {"usb": {"vendorId", "productId", "serialNumber"?}}). Pseudo-terminals (sim, qemu,',
      'twin-pty) are never listed: reach them with --target. An FTDI adapter\'s latency timer is shown,',
      'with what it costs and how to set it to 1 ms (hil diag shows it too).',
      '',
      'Examples:',
      '  hil list',
      '  hil list --json',
    ].join('\n'),
  )
  .action(async (opts: { json?: boolean; sysfs?: string }) => {
    const report = await listPorts({ boardsDir: config().boardDirs, ...(opts.sysfs ? { sysfsRoot: resolve(opts.sysfs) } : {}) });
    if (opts.json) {
      console.log(JSON.stringify({
        method: report.method,
        ports: report.rows.map((r) => ({ ...r.port, boards: r.matches })),
        absent: report.absent.map((b) => b.name),
        notes: report.notes,
        descriptorErrors: report.descriptorErrors.map((e) => e.message),
      }));
    } else {
      console.log(formatPortReport(report));
    }
  });

program
  .command('flash')
  .description('build the firmware if needed, flash it with the board\'s tool (openocd or st-flash; retried once), reset, wait for the banner, say hello, and check the board runs the build just flashed')
  .requiredOption('-b, --board <name|path>', 'the board descriptor: a name in boards/ or a path to one')
  .option('--no-build', 'flash the image as it is, without running make first')
  .addHelpText(
    'after',
    [
      '',
      'The descriptor says everything: the tool and its arguments ({image} is the image\'s path), the',
      'image (built with make -C firmware arm CONFIG=<config> when it is under firmware/build/), the',
      'port, and how to reset the board once the port is open so that its boot banner is seen.',
      '',
      'The tools (the flash and reset tools, and make and the ARM compiler when it builds) are checked',
      'before anything runs; a missing one names its Debian package.',
      '',
      exitCodeHelp([EXIT.ok, EXIT.usage, EXIT.target, EXIT.flash]),
      '',
      'Examples:',
      '  hil flash --board stm32f407-discovery',
      '  hil flash --board boards/my-bench-disco.json --no-build',
    ].join('\n'),
  )
  .action(async (opts: { board: string; build: boolean }) => {
    // On a terminal, each step's line stays and a bar shows the running step and its time; elsewhere the lines alone.
    const progress = process.stderr.isTTY ? createProgress({ title: 'flash' }) : quietProgress();
    try {
      const summary = await flashAndVerify(board(opts.board), { build: opts.build, onStep: (line) => (progress.log(line), progress.step(line.trim().replace(/\s+/, ': ').replace(/\s+/g, ' ').slice(0, 72))) });
      progress.stop();
      console.log(formatFlashSummary(summary));
    } finally {
      progress.stop();
    }
  });

program
  .command('monitor')
  .description('watch a target\'s UART: log lines and decoded frames (seq, op, arguments, result, error) with timestamps, captured to a JSON-lines file; passive: it only listens')
  .option('-b, --board <name|path>', 'the board descriptor to watch: a name in boards/ or a path to one')
  .option('-t, --target <spec>', 'the target spec to watch (see hil --help)')
  .option('--hello', 'send one hello after opening, to show traffic')
  .option('--reset', 'reset the board (its descriptor\'s reset step) once the port is open, to watch it boot')
  .option('-o, --capture <file>', 'capture file (JSON lines); default hil-monitor-<time>.jsonl here')
  .option('--no-capture', 'do not write a capture file')
  .option('-n, --count <n>', 'stop after n log, frame and damaged-line records', positiveInt('--count'))
  .option('-d, --duration <seconds>', 'stop after this many seconds', (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new UsageError(`--duration must be a positive number of seconds (got "${v}")`);
    return n;
  })
  .option('--replay <file>', 'print a capture file again, as it was printed live, and exit')
  .addOption(linkOption())
  .addHelpText(
    'after',
    [
      '',
      'Each line: time (UTC), direction (dev→host, host→dev), kind (log, frame, defect, link), then',
      'the log text, or seq, op (op? when guessed from the result), arguments, → ok result | error name.',
      'Capture records: {"t", "dir": "rx"|"tx"|"link", "kind", "text" | "hex", "decoded"}. Ctrl-C stops.',
      '',
      'Examples:',
      '  hil monitor --board stm32f407-discovery --reset',
      '  hil monitor --target sim --hello --count 2 --capture sim.jsonl',
      '  hil monitor --replay sim.jsonl',
      '  hil monitor --target sim --hello --link baud=115200,latency=16   (what the host sees through an adapter)',
    ].join('\n'),
  )
  .action(async (opts: { board?: string; target?: string; hello?: boolean; reset?: boolean; capture: string | boolean; count?: number; duration?: number; replay?: string; link?: string }) => {
    if (opts.replay) {
      if (opts.board || opts.target) throw new UsageError('--replay prints a capture file; it takes no --board or --target');
      for (const line of replayCapture(opts.replay)) console.log(line);
      return;
    }
    if (!!opts.board === !!opts.target) throw new UsageError('give one of --board NAME or --target SPEC (or --replay FILE)');
    const described = opts.board ? board(opts.board) : undefined;
    if (opts.reset && described?.kind !== 'serial' && described?.kind !== 'rfc2217') throw new UsageError('--reset needs a serial or rfc2217 --board (its descriptor says how to reset it)');
    const target = described ?? parseTargetSpec(opts.target!);
    const link = linkOf(opts.link, target);
    const capture = opts.capture === false ? undefined : typeof opts.capture === 'string' ? opts.capture : `hil-monitor-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`;
    if (capture) createCapture(capture); // the file announced below exists, whatever happens next
    const ac = new AbortController();
    // Ctrl-C (or SIGTERM) stops the monitor, which then closes its target (process/interrupt.ts).
    const offInterrupt = onInterrupt(() => ac.abort(), 5_000);
    console.error(`monitor: ${target.name} (${target.kind})${capture ? `, capturing to ${capture}` : ''}; Ctrl-C stops`);
    const opened = await openLink(target, { link });
    try {
      const s = await monitorTransport(opened.transport, {
        hello: opts.hello,
        capture,
        count: opts.count,
        durationMs: opts.duration !== undefined ? opts.duration * 1000 : undefined,
        signal: ac.signal,
        onRecord: (_r, line) => console.log(line),
        ...(opts.reset && described ? { afterOpen: () => resetBoard(described, (l) => console.error(l), opened.transport) } : {}),
      }, opened.start);
      console.error(`monitor: ${s.records} records (${s.frames} frames, ${s.logs} log lines, ${s.defects} damaged), stopped by ${s.stoppedBy}`);
    } finally {
      offInterrupt();
      await opened.close();
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help, `hil help CMD` and --version printed what they print (exit 0); `hil` alone printed
    // the help on stderr (commander's exit 1): a usage error.
    if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(e.code)) process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    else {
      const sub = program.commands.find((c) => process.argv.slice(2).includes(c.name()));
      console.error(`hil: ${e.message.replace(/^error: /, '').replace(/\.$/, '')}; see \`hil ${sub ? `${sub.name()} ` : ''}--help\``);
      process.exitCode = EXIT.usage;
    }
  } else {
    console.error(errorLine(e));
    process.exitCode = exitCodeOf(e);
  }
}
