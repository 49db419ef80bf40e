#!/usr/bin/env node
// Fuzzer seeds from the shared protocol vectors (no dependencies).
//
//   node tests/seeds_from_vectors.mjs OUTDIR file.json...
//
// Writes into OUTDIR (created if missing) one seed file per exchanges.json step (its send_hex
// bytes), one per exchanges.json case (all its steps' bytes in order: later steps only succeed
// after the earlier ones, e.g. a store after its acquire) and one per frames.json case (its
// line_hex bytes). Files are named vec-<vector file>-<case>-<step or "all">, so the seeds of the
// same vectors always get the same names. Exits 2 with a message on a file it cannot use.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

function fail(message) {
  console.error(`seeds_from_vectors: ${message}`);
  process.exit(2);
}

function hexBytes(hex, where) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    fail(`${where}: not a hex string`);
  }
  return Buffer.from(hex, 'hex');
}

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error('usage: node seeds_from_vectors.mjs OUTDIR file.json...');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

let written = 0;
function seed(name, bytes) {
  if (bytes.length === 0) return;
  writeFileSync(join(outDir, name), bytes);
  written++;
}

for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  if (!Array.isArray(doc.cases)) fail(`${file}: no "cases" array`);
  const stem = basename(file, '.json');
  doc.cases.forEach((c, i) => {
    const id = `vec-${stem}-${String(i).padStart(3, '0')}`;
    if (Array.isArray(c.steps)) {
      const all = c.steps.map((s, k) => {
        const bytes = hexBytes(s.send_hex, `${file}: case ${i} step ${k} send_hex`);
        seed(`${id}-${String(k).padStart(2, '0')}`, bytes);
        return bytes;
      });
      if (c.steps.length > 1) seed(`${id}-all`, Buffer.concat(all));
    } else if (c.line_hex !== undefined) {
      seed(id, hexBytes(c.line_hex, `${file}: case ${i} line_hex`));
    }
  });
}
console.log(`seeds_from_vectors: ${written} seeds from ${files.length} vector file(s) in ${outDir}`);
