#!/usr/bin/env node
/**
 * The `hil` command. Which code it runs is decided by what sits beside it, never by a build's age:
 * - a checkout (host/src/cli/main.ts is here): the TypeScript sources through tsx, so there is no
 *   build step between an edit and `npx hil`, and no stale dist/ can ever run;
 * - an installed package (the tarball ships dist/ and no sources): the compiled JavaScript under
 *   plain node, no transpiler in the way.
 * `npm run build` (run by `npm pack` through prepack) makes dist/; the checkout never uses it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const sources = new URL('host/src/cli/main.ts', root);
const compiled = new URL('dist/host/src/cli/main.js', root);

/** One line for an install that lacks a runtime dependency (instead of ERR_MODULE_NOT_FOUND with a stack). */
function missingPackage(error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' && error?.code !== 'MODULE_NOT_FOUND') return undefined;
  const m = /Cannot find (?:package|module) '([^']+)'/.exec(String(error.message));
  if (!m || m[1].startsWith('/') || m[1].startsWith('.') || m[1].startsWith('file:')) return undefined;
  const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
  return `hil: the package '${name}' is not installed, and hil needs it; install it with \`npm install ${name}\` (or reinstall componentvm-hil with its dependencies: do not omit them)`;
}

try {
  if (existsSync(sources)) {
    const { register } = await import('tsx/esm/api');
    register();
    await import(sources.href);
  } else if (existsSync(compiled)) {
    await import(compiled.href);
  } else {
    console.error(`hil: neither the sources (${fileURLToPath(sources)}) nor the build (${fileURLToPath(compiled)}) exist; in a checkout run \`npm ci\`, in a package reinstall it`);
    process.exitCode = 2;
  }
} catch (error) {
  const line = missingPackage(error);
  if (!line) throw error;
  console.error(line);
  process.exitCode = 2;
}
