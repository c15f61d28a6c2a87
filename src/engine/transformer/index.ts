/** Transformer building blocks over the engine's primitives (attention, embeddings, blocks). */
export { causalBias, MASKED, selfAttention, type AttentionOptions, type AttentionParams } from './attention.js';
export { embed, type EmbeddingParams } from './embeddings.js';
export { residual, transformerBlock, type BlockOptions, type BlockParams } from './block.js';
