/**
 * Files a model version has besides its ONNX graph, as JSON {name: blob hash}: a causal_lm keeps
 * the rest of its Hugging Face folder (config, tokenizer files) so `?format=hf` can assemble it.
 */
import type { Kysely, Migration } from 'kysely';

export const versionFiles: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('model_versions').addColumn('files', 'text').execute();
  },
};
