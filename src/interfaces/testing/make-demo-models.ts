/**
 * Writes the demo models of the README walk-through to examples/models (or the folder given):
 * iris-demo.onnx and iris-demo-v2.onnx, tiny hand-built graphs (not trained: fixed weights make
 * petal_length decide the species; v2 leans towards virginica) that follow the platform's
 * signature convention (the four numeric iris columns in `features`) and carry their signature in the file's metadata (`aiaas.signature`),
 * so an import serves raw rows. Run: node dist/src/interfaces/testing/make-demo-models.js
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { irisClassifier } from '../../ml/testing/onnx-fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const dir = path.resolve(process.argv[2] ?? path.join(root, 'examples/models'));
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'iris-demo.onnx'), irisClassifier({ embedSignature: true, color: false }).bytes);
fs.writeFileSync(path.join(dir, 'iris-demo-v2.onnx'), irisClassifier({ bias: 3, embedSignature: true, color: false }).bytes);
process.stdout.write(`wrote iris-demo.onnx and iris-demo-v2.onnx to ${dir}\n`);
