/**
 * The project's HIL settings: `hil.config.json`, found in the working directory or the nearest
 * folder above it (or named by --config), checked against boards/hil-config.schema.json with ajv
 * the way board descriptors are. It sets the spec files `hil test` runs, board folders searched
 * before the package's own, the default target, the report folder and the firmware artefacts the
 * sim, qemu and flash steps use. Relative paths resolve against the config file's folder.
 * A problem is one line: `FILE: /field what is wrong; fix` (ConfigError, exit 2).
 */
import AjvModule, { type ErrorObject } from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { BOARDS_DIR, displayPath } from '../boards/descriptor.js';
import type { Target } from '../targets/descriptor.js';

export const CONFIG_FILE_NAME = 'hil.config.json';
export const CONFIG_SCHEMA_FILE = join(BOARDS_DIR, 'hil-config.schema.json');

/** The JSON of hil.config.json. */
export interface ConfigFile {
  specs?: string[];
  boards?: string[];
  target?: string;
  reportDir?: string;
  firmware?: { sim?: string; elf?: string; image?: string };
}

/** A loaded config: every path absolute. */
export interface HilConfig {
  /** The file it came from; undefined when there is none (the defaults). */
  file: string | undefined;
  /** Spec files or globs, absolute; empty: the built-in suite. */
  specs: string[];
  /** Board folders, the user's first, the package's boards/ last. */
  boardDirs: string[];
  /** The default target (a spec or a board name), when the config names one. */
  target: string | undefined;
  /** The report folder (default reports/ in the working directory). */
  reportDir: string;
  firmware: { sim?: string; elf?: string; image?: string };
}

/** A config file that cannot be used: the user's to fix (exit 2). */
export class ConfigError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${displayPath(file)}: ${problem}`);
    this.name = 'ConfigError';
  }
}

let validate: AjvModule.ValidateFunction | undefined;

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const fields = e.instancePath === '' ? 'specs, boards, target, reportDir, firmware' : 'sim, elf, image';
      return `${e.instancePath}/${extra} is not a config field; remove it or fix its spelling (fields here: ${fields})`;
    }
    case 'type':
      return `${at} must be ${(e.params as { type: string }).type}; fix the value`;
    case 'minItems':
      return `${at} must not be empty; list at least one spec file or glob, or remove the field`;
    case 'minLength':
      return `${at} must not be empty; fix the value or remove the field`;
    default:
      return `${at} ${e.message ?? 'is invalid'}; fix the value`;
  }
}

/** The nearest hil.config.json at or above `dir`; undefined when there is none. */
export function findConfigFile(dir = process.cwd()): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const f = join(d, CONFIG_FILE_NAME);
    if (existsSync(f)) return f;
    if (dirname(d) === d) return undefined;
  }
}

/** Reads and checks a config file (or the defaults, without one). Throws ConfigError. */
export function loadConfig(file: string | undefined = findConfigFile()): HilConfig {
  const defaults: HilConfig = { file: undefined, specs: [], boardDirs: [BOARDS_DIR], target: undefined, reportDir: resolve('reports'), firmware: {} };
  if (!file) return defaults;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ConfigError(file, err.code ? `cannot be read (${err.code}); check the path` : `is not valid JSON (${err.message}); fix the syntax`);
  }
  if (!validate) {
    const Ajv = AjvModule.default;
    validate = new Ajv({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(CONFIG_SCHEMA_FILE, 'utf8')));
  }
  if (!validate(data)) throw new ConfigError(file, describe(validate.errors![0]!));
  const c = data as ConfigFile;
  const root = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const firmware: HilConfig['firmware'] = {};
  for (const k of ['sim', 'elf', 'image'] as const) if (c.firmware?.[k]) firmware[k] = abs(c.firmware[k]!);
  return {
    file: resolve(file),
    specs: (c.specs ?? []).map(abs),
    boardDirs: [...(c.boards ?? []).map(abs), BOARDS_DIR],
    target: c.target,
    reportDir: c.reportDir ? abs(c.reportDir) : defaults.reportDir,
    firmware,
  };
}

/**
 * A descriptor with the config's firmware artefacts filled in where it names none: the sim binary
 * for kind sim, the ELF for qemu, the image for a serial board's flash step.
 */
export function withArtefacts(t: Target, config: HilConfig): Target {
  const f = config.firmware;
  if (t.kind === 'sim' && f.sim && !t.firmware?.sim) return { ...t, firmware: { ...t.firmware, sim: f.sim } };
  if (t.kind === 'qemu' && f.elf && !t.firmware?.elf) return { ...t, firmware: { ...t.firmware, elf: f.elf } };
  if (t.kind === 'serial' && t.flash && f.image && !t.flash.image) return { ...t, flash: { ...t.flash, image: f.image } };
  return t;
}
