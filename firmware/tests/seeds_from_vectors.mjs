// Writes fuzzing seeds from the shared vectors: one seed per exchanges.json case (all its request
// bytes in order) and one per frames.json line. Usage: node seeds_from_vectors.mjs DIR FILE.json...
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const [dir, ...files] = process.argv.slice(2);
let n = 0;
for (const file of files) {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  for (const c of doc.cases ?? []) {
    let bytes = null;
    if (Array.isArray(c.steps)) {
      bytes = Buffer.concat(c.steps.filter((s) => typeof s.send_hex === 'string').map((s) => Buffer.from(s.send_hex, 'hex')));
    } else if (typeof c.line_hex === 'string') {
      bytes = Buffer.from(c.line_hex, 'hex');
    }
    if (bytes && bytes.length > 0) {
      writeFileSync(join(dir, `vector-${basename(file, '.json')}-${String(n++).padStart(3, '0')}`), bytes);
    }
  }
}
console.log(`seeds_from_vectors: ${n} seeds from ${files.length} vector files`);
