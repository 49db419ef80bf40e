/**
 * Generates every language's copy of the protocol constants from protocol/constants.json, and
 * puts schema.cddl verbatim into PROTOCOL.md. `--check` writes nothing and exits 1 naming each
 * stale file, so CI fails when someone edits a generated copy or forgets to regenerate.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = JSON.parse(readFileSync(join(root, 'protocol/constants.json'), 'utf8'));

interface Named { name: string; doc?: string }
const HEADER = 'Generated from protocol/constants.json by protocol/gen/generate.ts. Do not edit: run `npm run gen`.';

function upper(s: string): string { return s.toUpperCase(); }
function camel(s: string): string { return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()); }

interface OpSrc { name: string; code: number; args: { name: string; kind: string }[]; result: string; batchable: boolean; max_response: number | string; errors: string[]; doc: string }
const ops = src.ops as OpSrc[];

/** `export const NAME = { key: value, ... } as const;` from a constants.json section of {value, doc} entries. */
function tsValues(out: string[], doc: string, name: string, section: Record<string, { value: number; doc: string }>): void {
  out.push(`/** ${doc} */`, `export const ${name} = {`);
  for (const [k, v] of Object.entries(section)) out.push(`  /** ${v.doc} */`, `  ${camel(k)}: ${v.value},`);
  out.push('} as const;', '');
}

/** The link layer's build-time sizes (each with min and max): the replay cache's and the hold's. */
const LINK_SIZES = ['replay_depth', 'replay_bytes', 'hold_depth', 'hold_message_bytes'] as const;

function tsFile(): string {
  const out: string[] = [`// ${HEADER}`, ''];
  out.push(`/** Protocol version spoken by this library (hello key proto_version). */`);
  out.push(`export const PROTOCOL_VERSION = ${src.protocol_version};`, '');
  tsValues(out, 'Framing constants (PROTOCOL.md §2). C: CVM_* in cvm_protocol.h.', 'Framing', src.framing);
  tsValues(out, "Link layer (PROTOCOL.md §3.3): the replay cache's default size, and the host's retransmission policy.", 'Link', src.link);
  out.push('/** Range each replay-cache and hold size may take (C: CVM_LIMIT_MIN_* .. CVM_LIMIT_*, checked in cvm_config.h). */');
  out.push('export const LinkBounds = {');
  for (const k of LINK_SIZES) {
    const v = src.link[k] as { min: number; max: number };
    out.push(`  ${camel(k)}: { min: ${v.min}, max: ${v.max} },`);
  }
  out.push('} as const;', '');
  tsValues(out, 'Default build-time limits of the pool (a device reports its own in hello).', 'DefaultLimits', src.limits);
  out.push('/** Largest value each build-time limit may take. */');
  out.push('export const LimitMaxima = {');
  for (const [k, v] of Object.entries<{ max: number }>(src.limits)) out.push(`  ${camel(k)}: ${v.max},`);
  out.push('} as const;', '');
  out.push('/** Operation codes (PROTOCOL.md §4). C: enum cvm_op. */');
  out.push('export const Op = {');
  for (const o of ops) out.push(`  /** ${o.doc} */`, `  ${o.name}: ${o.code},`);
  out.push('} as const;');
  out.push('export type OpName = keyof typeof Op;');
  out.push('export type OpCode = (typeof Op)[OpName];', '');
  out.push('/** Number of arguments each operation takes, by op code. */');
  out.push('export const OpArity: Readonly<Record<number, number>> = {');
  for (const o of ops) out.push(`  ${o.code}: ${o.args.length},`);
  out.push('};', '');
  out.push('/** Names of each operation\'s arguments in wire order, by op code. */');
  out.push('export const OpArgs: Readonly<Record<number, readonly string[]>> = {');
  for (const o of ops) out.push(`  ${o.code}: ${JSON.stringify(o.args.map((a) => a.name))},`);
  out.push('};', '');
  out.push('/** What each kind of argument must be on the wire (PROTOCOL.md §3.1 step 4). C: cvm_arg_kind. */');
  out.push(`export type ArgKind = ${Object.keys(src.arg_kinds).map((k) => `'${k}'`).join(' | ')};`, '');
  out.push('/**');
  out.push(' * Largest response of an operation: a byte count, or a rule (PROTOCOL.md §3.3):');
  for (const [k, v] of Object.entries<string>(src.max_response_kinds)) out.push(` * - ${k}: ${v}`);
  out.push(' */');
  out.push(`export type MaxResponse = number | ${Object.keys(src.max_response_kinds).filter((k) => k !== 'number').map((k) => `'${k}'`).join(' | ')};`, '');
  out.push('/** Everything the protocol says about one operation, by op code: the one source of per-op facts. */');
  out.push('export interface OpFact {');
  out.push('  readonly name: OpName;');
  out.push('  readonly code: number;');
  out.push('  /** Arguments in wire order. */');
  out.push('  readonly args: readonly { readonly name: string; readonly kind: ArgKind }[];');
  out.push('  readonly result: string;');
  out.push('  /** May be an entry of a batch (PROTOCOL.md §4.2). */');
  out.push('  readonly batchable: boolean;');
  out.push('  readonly maxResponse: MaxResponse;');
  out.push('  /** The errors the operation itself can answer, in the order they are checked (after bad_arg and unknown_op). */');
  out.push('  readonly errors: readonly string[];');
  out.push('}', '');
  out.push('export const OpFacts: readonly OpFact[] = [');
  for (const o of ops) {
    out.push(`  { name: '${o.name}', code: ${o.code}, args: [${o.args.map((a) => `{ name: '${a.name}', kind: '${a.kind}' }`).join(', ')}], result: '${o.result}', batchable: ${o.batchable}, maxResponse: ${JSON.stringify(o.max_response)}, errors: ${JSON.stringify(o.errors)} },`);
  }
  out.push('];', '');
  out.push('/** Operation name by op code. */');
  out.push('export const OpNameByCode: Readonly<Record<number, OpName>> = {');
  for (const o of ops) out.push(`  ${o.code}: '${o.name}',`);
  out.push('};', '');
  out.push('/** Device error codes (PROTOCOL.md §4). C: enum cvm_err. */');
  out.push('export const ErrorCode = {');
  for (const e of src.errors as (Named & { code: number })[]) out.push(`  /** ${e.doc} */`, `  ${e.name}: ${e.code},`);
  out.push('} as const;');
  out.push('export type ErrorName = keyof typeof ErrorCode;', '');
  out.push('/** Key of each field of the hello map. */');
  out.push('export const HelloKey = {');
  for (const h of src.hello_keys as { name: string; key: number }[]) out.push(`  ${h.name}: ${h.key},`);
  out.push('} as const;', '');
  out.push('/** Key of each field of the stats map. */');
  out.push('export const StatsKey = {');
  for (const h of src.stats_keys as { name: string; key: number; doc: string }[]) out.push(`  /** ${h.doc} */`, `  ${h.name}: ${h.key},`);
  out.push('} as const;', '');
  out.push('/** Fields of one context entry of stats, in wire order. */');
  out.push(`export const CONTEXT_FIELDS = ${JSON.stringify((src.context_fields as Named[]).map((f) => f.name))} as const;`, '');
  out.push('/** Reset causes a device may report in hello, by index of the C enum cvm_reset_cause. */');
  out.push(`export const RESET_CAUSES = ${JSON.stringify(src.reset_causes)} as const;`, '');
  out.push('/** Prefix of the boot banner log line (PROTOCOL.md §5). */');
  out.push(`export const BANNER_PREFIX = ${JSON.stringify(src.banner_prefix)};`, '');
  return out.join('\n');
}

function cFile(): string {
  const out: string[] = [`/* ${HEADER} */`, '#ifndef CVM_PROTOCOL_H', '#define CVM_PROTOCOL_H', ''];
  out.push(`/** Protocol version spoken by this firmware. */`, `#define CVM_PROTOCOL_VERSION ${src.protocol_version}u`, '');
  for (const [k, v] of Object.entries<{ value: number; doc: string }>(src.framing)) {
    out.push(`/** ${v.doc.replace(/\*\//g, '* /')} */`, `#define CVM_${upper(k)} ${v.value}u`);
  }
  out.push('');
  out.push('/* Default build-time limits; firmware/core/include/cvm_config.h lets -D override them. */');
  for (const [k, v] of Object.entries<{ value: number; max: number; doc: string }>(src.limits)) {
    out.push(`/** ${v.doc} */`, `#define CVM_DEFAULT_${upper(k)} ${v.value}u`, `#define CVM_LIMIT_${upper(k)} ${v.max}u`);
  }
  out.push('');
  out.push('/* Link layer (PROTOCOL.md section 3.3): defaults of the replay cache and the hold; cvm_config.h lets -D override them. */');
  for (const k of LINK_SIZES) {
    const v = src.link[k] as { value: number; min: number; max: number; doc: string };
    out.push(`/** ${v.doc} */`, `#define CVM_DEFAULT_${upper(k)} ${v.value}u`, `#define CVM_LIMIT_MIN_${upper(k)} ${v.min}u`, `#define CVM_LIMIT_${upper(k)} ${v.max}u`);
  }
  out.push('');
  out.push('/** Operation codes (PROTOCOL.md section 4). */', 'typedef enum {');
  for (const o of ops) out.push(`    CVM_OP_${upper(o.name)} = ${o.code}, /**< ${o.doc} */`);
  out.push('} cvm_op;', `#define CVM_OP_COUNT ${src.ops.length}u`, '');
  const kinds = Object.keys(src.arg_kinds);
  out.push('/** What each kind of argument must be on the wire (PROTOCOL.md section 3.1 step 4). */', 'typedef enum {');
  kinds.forEach((k, i) => out.push(`    CVM_ARG_${upper(k)} = ${i}, /**< ${String(src.arg_kinds[k]).replace(/\*\//g, '* /')} */`));
  out.push('} cvm_arg_kind;', '');
  const maxArgs = Math.max(...ops.map((o) => o.args.length));
  out.push('/** Most arguments any operation takes. */', `#define CVM_OP_MAX_ARGS ${maxArgs}u`, '');
  out.push('/** Initialiser of a uint8_t[CVM_OP_COUNT] table: each operation\'s argument count, by op code. */');
  out.push(`#define CVM_OP_ARGC_TABLE { ${ops.map((o) => `${o.args.length}u`).join(', ')} }`);
  out.push('/** Initialiser of a uint8_t[CVM_OP_COUNT][CVM_OP_MAX_ARGS] table: each argument\'s cvm_arg_kind, by op code. */');
  out.push(`#define CVM_OP_ARG_KIND_TABLE { ${ops.map((o) => `{ ${o.args.length ? o.args.map((a) => `CVM_ARG_${upper(a.kind)}`).join(', ') : '0'} }`).join(', ')} }`);
  out.push('/** Initialiser of a bool[CVM_OP_COUNT] table: whether the operation may be a batch entry (section 4.2). */');
  out.push(`#define CVM_OP_BATCHABLE_TABLE { ${ops.map((o) => (o.batchable ? 'true' : 'false')).join(', ')} }`);
  out.push('/** Initialiser of a bool[CVM_OP_COUNT] table: whether the operation\'s result is an int32. */');
  out.push(`#define CVM_OP_INT32_RESULT_TABLE { ${ops.map((o) => (o.result === 'int32' ? 'true' : 'false')).join(', ')} }`, '');
  out.push('/** Device error codes (PROTOCOL.md section 4). */', 'typedef enum {');
  for (const e of src.errors as (Named & { code: number })[]) out.push(`    CVM_ERR_${upper(e.name)} = ${e.code}, /**< ${e.doc} */`);
  out.push('} cvm_err;', '');
  out.push('/** Keys of the hello map. */', 'typedef enum {');
  for (const h of src.hello_keys as { name: string; key: number }[]) out.push(`    CVM_HELLO_${upper(h.name)} = ${h.key},`);
  out.push('} cvm_hello_key;', `#define CVM_HELLO_KEY_COUNT ${src.hello_keys.length}u`, '');
  out.push('/** Keys of the stats map. */', 'typedef enum {');
  for (const h of src.stats_keys as { name: string; key: number }[]) out.push(`    CVM_STATS_${upper(h.name)} = ${h.key},`);
  out.push('} cvm_stats_key;', `#define CVM_STATS_KEY_COUNT ${src.stats_keys.length}u`, '');
  out.push(`/** Fields in one context entry of stats. */`, `#define CVM_CONTEXT_FIELD_COUNT ${src.context_fields.length}u`, '');
  out.push('/** Reset causes reported in hello; cvm_reset_cause_name() maps them to their wire text. */', 'typedef enum {');
  (src.reset_causes as string[]).forEach((r, i) => out.push(`    CVM_RESET_${upper(r)} = ${i},`));
  out.push('} cvm_reset_cause;', `#define CVM_RESET_CAUSE_COUNT ${src.reset_causes.length}u`);
  out.push(`#define CVM_RESET_CAUSE_NAMES { ${(src.reset_causes as string[]).map((r) => JSON.stringify(r)).join(', ')} }`, '');
  out.push(`/** Prefix of the boot banner log line (PROTOCOL.md section 5). */`, `#define CVM_BANNER_PREFIX ${JSON.stringify(src.banner_prefix)}`, '');
  out.push('#endif /* CVM_PROTOCOL_H */', '');
  return out.join('\n');
}

function specWithSchema(): string {
  const spec = readFileSync(join(root, 'protocol/PROTOCOL.md'), 'utf8');
  const cddl = readFileSync(join(root, 'protocol/schema.cddl'), 'utf8').trimEnd();
  const begin = '<!-- schema.cddl begin -->';
  const end = '<!-- schema.cddl end -->';
  const a = spec.indexOf(begin);
  const b = spec.indexOf(end);
  if (a < 0 || b < a) throw new Error(`protocol/PROTOCOL.md: markers ${begin} / ${end} are missing`);
  let out = spec.slice(0, a + begin.length) + '\n```cddl\n' + cddl + '\n```\n' + spec.slice(b);
  const tBegin = '<!-- ops table begin -->';
  const tEnd = '<!-- ops table end -->';
  const c = out.indexOf(tBegin);
  const d = out.indexOf(tEnd);
  if (c < 0 || d < c) throw new Error(`protocol/PROTOCOL.md: markers ${tBegin} / ${tEnd} are missing`);
  const rows = ['| code | op | arguments (kind) | result | batch | largest response | errors, in check order |', '|---|---|---|---|---|---|---|'];
  for (const o of ops) {
    const args = o.args.length ? o.args.map((x) => `${x.name} (${x.kind})`).join(', ') : '—';
    const errs = o.errors.length ? o.errors.map((e) => e.replace(/^(\w+)/, '`$1`')).join(', ') : '—';
    rows.push(`| ${o.code} | \`${o.name}\` | ${args} | ${o.result} | ${o.batchable ? 'yes' : 'no'} | ${o.max_response} | ${errs} |`);
  }
  out = out.slice(0, c + tBegin.length) + '\n' + rows.join('\n') + '\n' + out.slice(d);
  const mBegin = '<!-- timing table begin -->';
  const mEnd = '<!-- timing table end -->';
  const e = out.indexOf(mBegin);
  const f = out.indexOf(mEnd);
  if (e < 0 || f < e) throw new Error(`protocol/PROTOCOL.md: markers ${mBegin} / ${mEnd} are missing`);
  const timing = ['| constant | value | what and why |', '|---|---|---|'];
  for (const [k, v] of Object.entries<{ value: number; doc: string }>(src.link)) {
    if (k.endsWith('_ms') || k === 'max_attempts' || k === 'attempt_bytes') timing.push(`| \`${k}\` | ${v.value}${k.endsWith('_ms') ? ' ms' : ''} | ${v.doc.replace(/^Host: /, '')} |`);
  }
  out = out.slice(0, e + mBegin.length) + '\n' + timing.join('\n') + '\n' + out.slice(f);
  return out;
}

const outputs: Array<[string, string]> = [
  ['host/src/protocol/constants.ts', tsFile()],
  ['firmware/core/include/cvm_protocol.h', cFile()],
  ['protocol/PROTOCOL.md', specWithSchema()],
];

const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, text] of outputs) {
  const path = join(root, rel);
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (current === text) continue;
  if (check) {
    stale++;
    console.error(`stale: ${relative(root, path)} differs from what protocol/gen/generate.ts makes of protocol/constants.json; run \`npm run gen\``);
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    console.log(`wrote ${rel}`);
  }
}
if (check) {
  if (stale) process.exit(1);
  console.log('generated protocol files are up to date');
}
