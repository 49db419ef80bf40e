/**
 * Board descriptors: boards/<name>.json, passive data saying what a target is and how to reach,
 * build, flash and reset it (labgrid's habit: the descriptor describes, a strategy acts; see
 * strategy.ts). Checked against boards/schema.json (JSON Schema, with ajv) and a few rules a
 * schema cannot say; every problem is reported as `FILE: /json/pointer what is wrong (got X); fix`.
 */
import AjvModule, { type ErrorObject } from 'ajv';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from '../targets/toolchain.js';
import { displayPath, type Target, type TargetDescriptor, type TargetKind } from '../targets/descriptor.js';

export { displayPath, firmwareConfig, type FlashStep, type FlashTool, type ResetStep, type UsbSelector } from '../targets/descriptor.js';
import { LinkSpecError, parseLinkSpec } from '../transport/emulator.js';

export const BOARDS_DIR = join(REPO_ROOT, 'boards');
export const SCHEMA_FILE = join(BOARDS_DIR, 'schema.json');

/** The JSON of a descriptor (boards/schema.json): a target descriptor (targets/descriptor.ts). */
export type BoardDescriptor = TargetDescriptor;
export type BoardKind = TargetKind;

/** A descriptor and the file it came from (absolute path); relative paths in it resolve against its folder. */
export type Board = Target & { file: string };

/** A descriptor that cannot be used: the user's to fix, so the CLI exits 2. */
export class DescriptorError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(problems.map((p) => `${displayPath(file)}: ${p}`).join('\n'));
    this.name = 'DescriptorError';
  }
}


type Schema = { properties?: Record<string, Schema>; enum?: unknown[]; description?: string; items?: Schema; pattern?: string };

let compiled: { validate: AjvModule.ValidateFunction; schema: Schema } | undefined;
function validator(): { validate: AjvModule.ValidateFunction; schema: Schema } {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as Schema;
    const Ajv = AjvModule.default;
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, strictTypes: false });
    compiled = { validate: ajv.compile(schema), schema };
  }
  return compiled;
}

/** The schema node at a JSON pointer of the data (object properties only; arrays use items). */
function schemaAt(schema: Schema, pointer: string): Schema | undefined {
  let node: Schema | undefined = schema;
  for (const part of pointer.split('/').filter(Boolean)) {
    if (!node) return undefined;
    node = /^\d+$/.test(part) && node.items ? node.items : node.properties?.[part];
  }
  return node;
}

const got = (v: unknown): string => JSON.stringify(v);

/** What to do about a wrong value at a field, beyond "fix the value". */
const FIX_HINTS: Array<[RegExp, string]> = [
  [/^\/(flash|reset)\/tool$/, 'fix the value or add a strategy (host/src/boards/strategy.ts)'],
  [/^\/kind$/, 'fix the value or add a target kind (host/src/targets/link.ts)'],
  [/^\/name$/, 'use lower-case letters, digits and -, the same as the file name'],
  [/^\/url$/, 'write it as tcp://HOST:PORT (kind tcp) or rfc2217://HOST:PORT (kind rfc2217), e.g. tcp://bench-pi.local:3001'],
  [/^\/port\/usb\/(vendorId|productId)$/, 'write 4 hex digits as `hil list` shows them, e.g. 0483'],
  [/^\/port\/path$/, 'give the absolute device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...'],
];

function fixFor(pointer: string): string {
  return FIX_HINTS.find(([re]) => re.test(pointer))?.[1] ?? 'fix the value';
}

/** One ajv error as a sentence: the field's pointer, what is wrong, what it got, the fix. */
function describeError(e: ErrorObject, data: unknown, schema: Schema): string | undefined {
  const at = e.instancePath || '';
  const value = e.instancePath ? e.instancePath.split('/').slice(1).reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data) : data;
  const kind = (data as { kind?: unknown }).kind;
  switch (e.keyword) {
    case 'if':
      return undefined; // reported through the then/else branch's own errors
    case 'enum':
      return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')} (got ${got(value)}); ${fixFor(at)}`;
    case 'const':
      return `${at} must be ${got((e.params as { allowedValue: unknown }).allowedValue)} (got ${got(value)}); ${fixFor(at)}`;
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const ptr = `${at}/${missing}`;
      const why = at === '' && (missing === 'port' || missing === 'url') ? ` (kind ${kind} needs it)` : '';
      const desc = schemaAt(schema, ptr)?.description;
      const example =
        ptr === '/port' ? '; add e.g. "port": {"path": "/dev/ttyUSB0"} or "port": {"usb": {"vendorId": "0403", "productId": "6001"}}'
        : ptr === '/url' ? `; add e.g. "url": "${kind === 'rfc2217' ? 'rfc2217://bench-pi.local:3002' : 'tcp://bench-pi.local:3001'}"`
        : ptr === '/reset/args' ? '; add the tool\'s arguments, or use "tool": "none"'
        : `; add it${desc ? ` (${desc})` : ''}`;
      return `${ptr} is missing${why}${example}`;
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys(schemaAt(schema, at)?.properties ?? {}).filter((k) => k !== '$schema');
      return `${at}/${extra} is not a descriptor field; remove it or fix its spelling (fields here: ${allowed.join(', ')})`;
    }
    case 'false schema':
      return `${at} is not used by kind ${got(kind)}; remove it, or change /kind`;
    case 'type':
      return `${at || '/'} must be ${(e.params as { type: string }).type} (got ${got(value)}); fix the value`;
    case 'pattern':
      return `${at} does not have the expected form (got ${got(value)}); ${fixFor(at)}`;
    case 'minimum':
    case 'maximum':
      return `${at} must be ${e.keyword === 'minimum' ? '≥' : '≤'} ${(e.params as { limit: number }).limit} (got ${got(value)}); fix the value`;
    case 'minLength':
      return `${at} must not be empty; fix the value or remove the field`;
    case 'minProperties':
    case 'maxProperties':
      return at === '/port'
        ? `${at} must give exactly one of path, usb (got ${Object.keys((value as object) ?? {}).join(', ') || 'neither'}); keep one`
        : `${at} ${e.message ?? 'is invalid'}; fix the value`;
    default:
      return `${at || '/'} ${e.message ?? 'is invalid'} (got ${got(value)}); fix the value`;
  }
}

/** Rules the schema cannot state. */
function semanticProblems(d: BoardDescriptor, file: string): string[] {
  const out: string[] = [];
  if (d.link !== undefined) {
    try {
      parseLinkSpec(d.link, '/link');
    } catch (e) {
      if (!(e instanceof LinkSpecError)) throw e;
      out.push(e.message);
    }
  }
  const stem = basename(file, '.json');
  if (d.name !== stem) out.push(`/name must be ${got(stem)}, the file's name (got ${got(d.name)}); rename the file or fix the name`);
  const f = d.flash;
  if (f) {
    if (!f.args.some((a) => a.includes('{image}'))) out.push(`/flash/args must contain {image} where the image's path goes (got ${got(f.args)}); add it`);
    if (f.tool === 'st-flash' && f.image && !f.image.endsWith('.bin')) out.push(`/flash/image must be a raw binary (.bin) for st-flash (got ${got(f.image)}); use the .bin beside the ELF (port.mk makes both)`);
    const built = f.image ? /^firmware\/build\/([^/]+)\/arm\//.exec(f.image) : null;
    const config = d.firmware?.config ?? 'default';
    if (built && built[1] !== config) out.push(`/flash/image is a CONFIG=${built[1]} build but /firmware/config is ${got(config)}; make them agree`);
  }
  return out;
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The errors worth reporting, each once: a misspelt field that stands for a missing required one
 * is one error ("/kynd ...: did you mean /kind?"), and while /kind is missing or wrong, the errors
 * of the rules that depend on it (which fields each kind needs or forbids) are dropped: they would
 * describe a kind the file does not have.
 */
function relevantErrors(errors: ErrorObject[], data: unknown, schema: Schema & { allOf?: Array<{ if?: Schema }> }): { errors: ErrorObject[]; renamed: Map<ErrorObject, string> } {
  const kinds = schema.properties?.kind?.enum ?? [];
  const kind = (data as { kind?: unknown } | null)?.kind;
  const kindDependent = (schema.allOf ?? []).flatMap((rule, i) => (rule.if?.properties?.kind ? [`#/allOf/${i}/`] : []));
  let out = kinds.includes(kind) ? errors : errors.filter((e) => !kindDependent.some((p) => e.schemaPath.startsWith(p)));
  const renamed = new Map<ErrorObject, string>();
  for (const missing of out.filter((e) => e.keyword === 'required')) {
    const want = (missing.params as { missingProperty: string }).missingProperty;
    const typo = out.find((e) => e.keyword === 'additionalProperties' && e.instancePath === missing.instancePath && distance((e.params as { additionalProperty: string }).additionalProperty, want) <= 2);
    if (!typo) continue;
    renamed.set(typo, want);
    out = out.filter((e) => e !== missing);
  }
  return { errors: out, renamed };
}

/** Checks parsed JSON as a descriptor loaded from `file`; throws DescriptorError listing every problem. */
export function validateDescriptor(data: unknown, file: string): Board {
  const { validate, schema } = validator();
  if (!validate(data)) {
    const { errors, renamed } = relevantErrors(validate.errors ?? [], data, schema);
    const describe = (e: ErrorObject): string | undefined => {
      const want = renamed.get(e);
      if (want === undefined) return describeError(e, data, schema);
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return `${e.instancePath}/${extra} is not a descriptor field: did you mean ${e.instancePath}/${want}? rename it`;
    };
    const problems = [...new Set(errors.map(describe).filter((p): p is string => p !== undefined))];
    throw new DescriptorError(file, problems.length ? problems : ['is not a valid descriptor']);
  }
  const d = data as BoardDescriptor;
  const more = semanticProblems(d, file);
  if (more.length) throw new DescriptorError(file, more);
  return { ...d, file, root: boardRoot(file) };
}

/**
 * The folder a board file's relative paths (flash image, firmware artefacts) resolve against: the
 * package root for the package's own boards (their paths name firmware/build/...), else the
 * folder the file is in. Never inside node_modules for a user's board.
 */
function boardRoot(file: string): string {
  return dirname(file) === BOARDS_DIR ? REPO_ROOT : dirname(file);
}

/** Names of the descriptors in `dir` (default boards/), schema.json excluded, sorted. */
export function boardNames(dir = BOARDS_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('schema.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads and checks one descriptor file. */
export function loadBoardFile(file: string): Board {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DescriptorError(file, [`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new DescriptorError(file, [`is not valid JSON (${(e as Error).message}); fix the syntax`]);
  }
  return validateDescriptor(data, file);
}

/** Board folders as a list: the user's (searched first), then the package's boards/ last. */
function dirsOf(dirs: string | string[]): string[] {
  return typeof dirs === 'string' ? [dirs] : dirs;
}

/**
 * A board by name (<dir>/<name>.json, the first of `dirs` that has it; default the package's
 * boards/) or by path (anything with a '/' or ending in .json). Throws DescriptorError for a bad
 * descriptor, and names the known boards for an unknown name.
 */
export function loadBoard(nameOrPath: string, dirs: string | string[] = BOARDS_DIR): Board {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.json');
  if (isPath) return loadBoardFile(resolve(nameOrPath));
  const list = dirsOf(dirs);
  const file = list.map((d) => join(d, `${nameOrPath}.json`)).find((f) => existsSync(f));
  if (!file) {
    const known = [...new Set(list.flatMap((d) => boardNames(d)))];
    throw new DescriptorError(join(list[0] ?? BOARDS_DIR, `${nameOrPath}.json`), [`no board named ${got(nameOrPath)} in ${list.map(displayPath).join(', ')}; boards are: ${known.join(', ') || '(none)'} — or give a descriptor's path`]);
  }
  return loadBoardFile(file);
}

/**
 * Every descriptor in `dirs` (a name found in an earlier folder hides the same name in a later
 * one): the good ones, and the errors of the bad ones (never throws for one bad file).
 */
export function loadAllBoards(dirs: string | string[] = BOARDS_DIR): { boards: Board[]; errors: DescriptorError[] } {
  const boards: Board[] = [];
  const errors: DescriptorError[] = [];
  const seen = new Set<string>();
  for (const dir of dirsOf(dirs)) {
    for (const name of boardNames(dir)) {
      if (seen.has(name)) continue;
      seen.add(name);
      try {
        boards.push(loadBoardFile(join(dir, `${name}.json`)));
      } catch (e) {
        if (e instanceof DescriptorError) errors.push(e);
        else throw e;
      }
    }
  }
  return { boards, errors };
}
