#!/usr/bin/env node
/**
 * The layering rule of docs/DESIGN.md, checked on the source tree (CI runs it before the tests):
 * interfaces → services → ml → engine → onnx → infra, each layer importing only from itself and lower
 * layers; the API contract (src/api: request and response types and schemas) is a leaf every
 * layer may use and that imports nothing of ours; the SDK (a client of the HTTP API) may import
 * the API's types only; and no two sibling
 * folders import each other, directly or through others (a cycle means two concepts that cannot
 * be read apart; a folder and its own subfolders may use each other). Tests are held to the layer
 * rule too, and test support (a `testing/` folder) is imported by tests only. Prints every violation; exits 1 if there is one.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src');
// The SDK is a client of the API, as the CLI and the console are: interfaces may use it.
// src/api is rank 0: below everything, so anything may import it and it may import nothing of ours.
// src/onnx (the format) sits between infra and engine: engine, ml and services all write ONNX.
const RANK = { api: 0, infra: 1, onnx: 1.5, engine: 2, ml: 3, services: 4, interfaces: 5, sdk: 5 };
/** What the SDK may import besides itself: the API contract's types. */
const SDK_ALLOWED = [/^api\//];

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a file, resolved to paths under src/ (`x.js` → `x.ts`). */
function importsOf(file) {
  const text = fs.readFileSync(file, 'utf8');
  const out = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    const target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    out.push(path.relative(root, target));
  }
  return out;
}

const layerOf = (rel) => rel.split('/')[0];
const folderOf = (rel) => path.dirname(rel);
const problems = [];
const folderEdges = new Map();

for (const file of walk(root)) {
  const rel = path.relative(root, file);
  const from = layerOf(rel);
  for (const target of importsOf(file)) {
    const to = layerOf(target);
    if (target.startsWith('..')) continue; // outside src (package.json): not a layer
    if (from === 'sdk' && to !== 'sdk' && !SDK_ALLOWED.some((re) => re.test(target))) {
      problems.push(`${rel} imports ${target}: the SDK may import only the API's types (${SDK_ALLOWED.map(String).join(', ')})`);
    } else if (from === 'api' && to !== 'api') {
      problems.push(`${rel} imports ${target}: the API contract (src/api) imports nothing of ours, so every layer can use it`);
    } else if (RANK[from] !== undefined && RANK[to] !== undefined && RANK[to] > RANK[from]) {
      problems.push(`${rel} imports ${target}: ${from} is below ${to} (interfaces → services → ml → engine → onnx → infra)`);
    }
    const isTestSupport = (f) => f.endsWith('.test.ts') || f.split('/').includes('testing');
    if (!isTestSupport(rel) && target.split('/').includes('testing')) {
      problems.push(`${rel} imports ${target}: test support (testing/ folders) is for tests only`);
    }
    const a = folderOf(rel), b = folderOf(target);
    const nested = (x, y) => x.startsWith(y + '/');
    if (a !== b && !nested(a, b) && !nested(b, a) && !rel.endsWith('.test.ts')) {
      if (!folderEdges.has(a)) folderEdges.set(a, new Map());
      if (!folderEdges.get(a).has(b)) folderEdges.get(a).set(b, `${rel} → ${target}`);
    }
  }
}

// Cycles between folders (production files only): a depth-first search reporting each cycle once.
// A folder importing its own subfolder's index and being imported back is a cycle too.
const seen = new Set();
const reported = new Set();
function visit(node, stack) {
  if (stack.includes(node)) {
    const cycle = stack.slice(stack.indexOf(node));
    const key = [...cycle].sort().join(' ');
    if (!reported.has(key)) {
      reported.add(key);
      const via = cycle.map((f, i) => folderEdges.get(f).get(cycle[(i + 1) % cycle.length])).join('; ');
      problems.push(`folders import each other: ${[...cycle, node].join(' → ')} (${via})`);
    }
    return;
  }
  if (seen.has(node)) return;
  stack.push(node);
  for (const next of folderEdges.get(node)?.keys() ?? []) visit(next, stack);
  stack.pop();
  seen.add(node);
}
for (const folder of folderEdges.keys()) visit(folder, []);

// Below interfaces no code picks an HTTP status: it throws the DomainErrors of infra/errors.ts,
// and interfaces/http/errors.ts gives each kind its status. AppError (an error carrying its
// status) lives in interfaces/http/errors.ts, so the layer rule above keeps it out of the lower
// layers; this keeps it and the old status-named helpers from coming back to infra/errors.ts.
const STATUS_ERRORS = new Set(['AppError', 'badRequest', 'unauthorized', 'forbidden', 'notFound', 'conflict', 'tooLarge', 'unprocessable', 'tooManyRequests']);
for (const file of walk(root)) {
  const rel = path.relative(root, file);
  if (RANK[layerOf(rel)] >= RANK.interfaces) continue;
  if (rel === 'infra/errors.ts') {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/export\s+(?:const|class|function)\s+(\w+)/g)) {
      if (STATUS_ERRORS.has(m[1])) problems.push(`infra/errors.ts exports ${m[1]}, which carries an HTTP status: statuses are chosen in interfaces/http/errors.ts only`);
    }
    continue;
  }
  const used = [];
  // The code without its imports of infra/errors.ts (kept as empty lines, so line numbers hold).
  const code = fs.readFileSync(file, 'utf8').replace(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['"](\.[^'"]+)['"]/g, (all, names, spec) => {
    if (path.relative(root, path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts')) !== 'infra/errors.ts') return all;
    used.push(...names.split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()).filter((n) => STATUS_ERRORS.has(n)));
    return all.replace(/[^\n]/g, '');
  });
  if (used.length === 0) continue;
  const uses = new RegExp(`\\b(${used.join('|')})\\b`);
  code.split('\n').forEach((line, i) => {
    if (uses.test(line)) {
      problems.push(`${rel}:${i + 1} uses ${line.match(uses)[1]}, which carries an HTTP status: throw a DomainError of infra/errors.ts (interfaces/http/errors.ts maps it to a status)`);
    }
  });
}

if (problems.length > 0) {
  console.error(`Layering check: ${problems.length} problem(s)\n` + problems.map((p) => `  - ${p}`).join('\n'));
  process.exit(1);
}
console.log(`Layering check: ${walk(root).length} files, no import from a higher layer, no cycle between folders, no HTTP status below interfaces.`);
