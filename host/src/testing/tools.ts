/**
 * Test-only helpers about tools; imported by tests only, never by product modules.
 */
import { hasTool } from '../process/tools.js';

/**
 * For a test that needs tools: under CI (CI set) a missing tool fails the test naming its Debian
 * package; elsewhere the test is reported as pending with the same reason.
 * `tools` pairs a command with its Debian package.
 */
export function needTools(ctx: Mocha.Context, tools: Array<[tool: string, debianPackage: string]>): void {
  const missing = tools.filter(([t]) => !hasTool(t));
  if (!missing.length) return;
  const reason = missing.map(([t, p]) => `${t} (Debian package ${p})`).join(', ');
  if (process.env.CI) throw new Error(`missing ${reason}: install with apt-get install -y ${missing.map(([, p]) => p).join(' ')}`);
  console.log(`      pending: missing ${reason}`);
  ctx.skip();
}
