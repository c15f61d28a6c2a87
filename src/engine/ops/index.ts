/** All primitive ops; importing this module registers their emitters and gradient rules. */
export * from './elementwise.js';
export * from './matmul.js';
export * from './reduce.js';
export * from './softmax.js';
export * from './shape.js';
export * from './conv.js';
export * from './pool.js';
export * from './gather.js';
export * from './nn.js';
export * from './range.js';
export * from './dropout.js';
