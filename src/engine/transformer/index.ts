/** Transformer building blocks over the engine's primitives (attention, embeddings, blocks). */
export { cachedSelfAttention, causalBias, dropoutSource, MASKED, maybeDropout, selfAttention, type AttentionOptions, type AttentionParams, type CachedAttentionOptions, type DropoutSource } from './attention.js';
export { embed, type EmbeddingParams } from './embeddings.js';
export { cachedTransformerBlock, residual, transformerBlock, type BlockOptions, type BlockParams } from './block.js';
