/**
 * The exit codes of `hil` (and of the examples), defined once: the table `hil --help` prints and the
 * README shows (both generated from EXIT_CODES, the README checked by host/src/cli/errors.test.ts),
 * the one mapping from an error to its code (exitCodeOf), and the one-line message a user sees
 * (errorLine). The runner (run-suite.ts) and the parallel runner decide 0/1/3 for a run that
 * happened; everything that stops a run before it starts is an error mapped here.
 */
import { DescriptorError } from '../boards/descriptor.js';
import { BoardReset, ClientClosed, DeviceError, LinkDead, RequestTimeout, RetriesExhausted } from '../client/errors.js';
import { MalformedCbor } from '../codec/strict.js';
import { MissingToolError } from '../process/tools.js';
import { ProtocolError } from '../protocol/messages.js';
import { TargetSpecError } from '../targets/descriptor.js';
import { BoardError, FlashError, VerifyError } from '../targets/strategy.js';
import { BuildError } from '../targets/toolchain.js';
import { LinkSpecError } from '../transport/emulator.js';
import { TransportError } from '../transport/transport.js';
import { ConfigError } from './config.js';

export const EXIT = {
  ok: 0,
  testsFailed: 1,
  usage: 2,
  target: 3,
  flash: 4,
  internal: 70,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every exit code and what it means, in the words `hil --help` and the README use. */
export const EXIT_CODES: ReadonlyArray<{ code: ExitCode; meaning: string }> = [
  { code: EXIT.ok, meaning: 'ok: every test that ran passed (test), the command did what it says (others)' },
  { code: EXIT.testsFailed, meaning: 'a test failed (a verdict on the firmware)' },
  { code: EXIT.usage, meaning: 'usage or setup: unknown option or command, bad option value, bad target spec, descriptor or config, missing tool, failed build, --grep matching no test; nothing ran' },
  { code: EXIT.target, meaning: 'the target is unreachable, busy or misbehaving (no such port, connection refused, no banner or hello, link dead), or tests could not run because of the link' },
  { code: EXIT.flash, meaning: 'flash failed: the tool failed on both attempts, or the board does not run the build just flashed' },
  { code: EXIT.internal, meaning: 'internal error: a bug in hil (its stack is printed); please report it' },
  { code: EXIT.sigint, meaning: 'interrupted by SIGINT (Ctrl-C)' },
  { code: EXIT.sigterm, meaning: 'terminated by SIGTERM' },
];

/** The table as `--help` text, one code a line (only `codes`, when given). */
export function exitCodeHelp(codes?: readonly ExitCode[]): string {
  return ['Exit codes:', ...EXIT_CODES.filter((e) => !codes || codes.includes(e.code)).map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`)].join('\n');
}

/** The table as the README's markdown (checked against the README by the CLI error test). */
export function exitCodeMarkdown(): string {
  return ['| exit | meaning |', '|---|---|', ...EXIT_CODES.map((e) => `| ${e.code} | ${e.meaning} |`)].join('\n');
}

/** A mistake in how a command was called (an option value, an argument, a combination): exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Classes of errors and their codes, most specific first (FlashError before BoardError). A
 * BoardError is either a setup problem or an unreachable board, so it carries its own code.
 */
const BY_CLASS: ReadonlyArray<readonly [abstract new (...args: never[]) => Error, ExitCode | ((e: Error) => ExitCode)]> = [
  [UsageError, EXIT.usage],
  [TargetSpecError, EXIT.usage],
  [DescriptorError, EXIT.usage],
  [ConfigError, EXIT.usage],
  [LinkSpecError, EXIT.usage],
  [MissingToolError, EXIT.usage],
  [BuildError, EXIT.usage],
  [FlashError, EXIT.flash],
  [VerifyError, EXIT.flash],
  [BoardError, (e) => ((e as BoardError).exitCode === EXIT.usage ? EXIT.usage : EXIT.target)],
  [TransportError, EXIT.target],
  [ClientClosed, EXIT.target],
  [RequestTimeout, EXIT.target],
  [LinkDead, EXIT.target],
  [RetriesExhausted, EXIT.target],
  [BoardReset, EXIT.target],
  [DeviceError, EXIT.target],
  [ProtocolError, EXIT.target],
  [MalformedCbor, EXIT.target],
];

/**
 * Errors named here by `name` rather than class: the orchestrator's own (run-suite.ts, which
 * imports this module) and commander's.
 */
const BY_NAME: Readonly<Record<string, ExitCode>> = {
  SpecFileError: EXIT.usage,
  RunOptionError: EXIT.usage,
  ReporterError: EXIT.usage,
  ReportInputError: EXIT.usage,
  CommanderError: EXIT.usage,
};

/** Mistakes in the code itself, never the user's: exit 70 with the stack. */
const BUGS = [TypeError, ReferenceError, SyntaxError] as const;

/**
 * The exit code an error ends `hil` with. Anything else a step throws (a QEMU or sim start that
 * failed, a QMP error) is the target's: 3.
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (!(error instanceof Error)) return EXIT.internal;
  for (const [cls, code] of BY_CLASS) if (error instanceof cls) return typeof code === 'function' ? code(error) : code;
  const named = BY_NAME[error.name];
  if (named !== undefined) return named;
  if (BUGS.some((b) => error instanceof b)) return EXIT.internal;
  return EXIT.target;
}

/**
 * What `hil` prints for an error that ends it: `<prefix>: <message>` (a user's mistake or a
 * target's problem is its message, which names the thing and the fix), or the stack for a bug.
 */
export function errorLine(error: unknown, prefix = 'hil'): string {
  if (exitCodeOf(error) === EXIT.internal) {
    const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    return `${prefix}: internal error (a bug; please report it with this output):\n${stack}`;
  }
  return `${prefix}: ${(error as Error).message}`;
}
