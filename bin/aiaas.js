#!/usr/bin/env node
// The `aiaas` command: runs the compiled CLI (npm start and npm test build it first).
import { main } from '../dist/src/interfaces/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exitCode = code; },
  (err) => {
    process.stderr.write(`aiaas: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
