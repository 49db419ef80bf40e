/**
 * What the example scripts share as command-line programs: their options read with node's
 * parseArgs plus a real --help, and every error as one line `<script>: ...` with the exit code of
 * `hil`'s table (host/src/orchestrator/exit-codes.ts): 2 for a bad option, 3 for a target that
 * cannot be reached, and so on.
 */
import { relative } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { EXIT, UsageError, errorLine, exitCodeHelp, exitCodeOf } from '../host/src/orchestrator/exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The script's options (string or boolean, as parseArgs reads them), or its help printed (exit 0),
 * or one line naming the bad option (exit 2). `usage` is the help's text above the options.
 */
export function exampleArgs<O extends Options>(script: string, usage: string, options: O, describe: Record<keyof O, string>): ReturnType<typeof parseArgs<{ options: O; strict: true }>>['values'] {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as O;
  try {
    const { values } = parseArgs({ options: all, strict: true, allowPositionals: false });
    if ((values as { help?: boolean }).help) {
      const lines = Object.entries(options).map(([k, o]) => `  --${k}${o.type === 'string' ? ' <value>' : ''}`.padEnd(22) + `${describe[k as keyof O]}${o.default !== undefined ? ` (default ${String(o.default)})` : ''}`);
      console.log([usage, '', 'Options:', ...lines, '  -h, --help'.padEnd(22) + 'print this help', '', exitCodeHelp([EXIT.ok, EXIT.testsFailed, EXIT.usage, EXIT.target])].join('\n'));
      process.exit(EXIT.ok);
    }
    return values;
  } catch (e) {
    if (!(e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_')) throw e;
    const self = relative(process.cwd(), process.argv[1] ?? script) || script;
    console.error(`${script}: ${(e as Error).message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '')}; see \`npx tsx ${self} --help\``);
    process.exit(EXIT.usage);
  }
}

/** A positive integer option, or UsageError naming it. */
export function positiveInt(option: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option} must be a positive integer (got "${text}")`);
  return n;
}

/** Runs the script's body: an error that ends it is one line and the code of `hil`'s table. */
export async function runExample(script: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    console.error(errorLine(e, script));
    process.exitCode = exitCodeOf(e);
  }
}
