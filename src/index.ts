/** The package entry: the TypeScript SDK (`import { AiaasClient } from 'aiaas'`). */
export * from './sdk/index.js';
