export * from './classification.js';
export * from './regression.js';
export * from './importance.js';
export * from './cross-validation.js';
export * from './validation.js';
