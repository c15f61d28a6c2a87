/** Language models in the engine: a GPT, its programs and its training loop. */
export { checkGptConfig, createGpt, gptLogits, gptParams, GPT_EPSILON, initParams, transformerTrunk, type Gpt, type GptConfig } from './gpt.js';
export { buildLmTrainProgram, lmEvalModel, lmLogitsModel, type LmTeacher } from './program.js';
export { lmLearningRate, type LmSchedule } from './schedule.js';
export { evaluateLm, sample, trainLm, type LmCheckpoint, type LmEval, type LmHistory, type LmTrainOptions } from './train.js';
export { gptDecoderModel, gptFromDecoder, pastName, presentName } from './decoder.js';
export { createTextEncoder, textEncoderLogits, type TextEncoder, type TextEncoderConfig } from './encoder.js';
export { buildTextClassifierTrainProgram, padIdOf, textClassifierEvalModel, textClassifierInferenceModel } from './classifier-program.js';
export { trainTextClassifier, type TextClassifierHistory, type TextClassifierTrainOptions } from './train-classifier.js';
export { argmax, chooseToken, GREEDY, logprobsOf, noteGenerated, penalize, tokenHistory, type SamplingParams, type TokenHistory } from './sampling.js';
export { ContinuousBatcher, type BatchStats, type DecoderRunner, type DecoderShape, type SequenceRequest, type TokenEvent } from './continuous-batch.js';
