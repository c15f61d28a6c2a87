/**
 * A train job for a language model, in the worker: the text column's lines → training and
 * held-out text (the last `split.validation` share of lines, each joined by "\n") → a tokenizer
 * fitted on the training text → a GPT trained by the engine's trainLm → a `causal_lm` version
 * whose graph is the key/value-cache decoder and whose other Hugging Face files (config,
 * tokenizer) are kept beside it for `?format=hf`. Every evaluation reports metrics, logs a sample
 * generation, and checkpoints (weights, optimizer state, step), so a preempted job resumes there.
 * Final metrics (the shape of every job's): `test` {valLoss, perplexity, valAccuracy} on the
 * held-out lines, `training` {loss, tokensPerSecond, trainSeconds, steps, tokens, peakRssBytes, …},
 * `history` one entry per evaluation (what the `metrics` events carried, sample included).
 */
import type { JobContext, JobOutcome } from '../jobs/job-type.js';
import { trainingServices } from './job-services.js';
import type { DatasetService } from '../datasets.js';
import { signatureFromGraph } from '../registry.js';
import type { Principal } from '../principal.js';
import { createGpt, evaluateLm, gptFromDecoder, trainLm, type Gpt, type LmCheckpoint, type LmEval, type LmTeacher } from '../../engine/lm/index.js';
import { decodeModel } from '../../onnx/decode.js';
import type { RegistryService } from '../registry.js';
import { inspectModel } from '../../engine/inspect-model.js';
import { buildTokenizer, readTokenizerJson, type TextTokenizer } from '../../ml/text/index.js';
import { hfFolder } from '../../ml/lm/hf-folder.js';
import { loadTable, column } from '../../ml/training-table.js';
import { InvalidInputError } from '../../infra/errors.js';
import type { LmSpec } from './lm-spec.js';
import { decodeLmCheckpoint, encodeLmCheckpoint } from './lm-checkpoint.js';

const SAMPLE_TOKENS = 64;
/**
 * Held-out windows of the evaluations before the last (spread over the held-out text): a point of
 * the curve, not the result. The last evaluation, the job's valLoss, takes every window. Without
 * the bound, ten evaluations of kjv's held-out tenth would cost more than a small model's training.
 */
const PROGRESS_EVAL_WINDOWS = 512;

export async function runLm(ctx: JobContext<LmSpec>): Promise<JobOutcome> {
  const { datasets, registry, principal } = await trainingServices(ctx);
  const spec = ctx.spec;
  ctx.progress({ fraction: 0, message: 'loading the text' });
  const lines = await readLines(datasets, principal, spec);
  const { train, heldOut } = splitLines(lines, spec.split.validation);
  const teacher = spec.teacher ? await loadTeacher(registry, ctx) : undefined;
  ctx.progress({ fraction: 0.02, message: teacher ? `reading the teacher's ${spec.tokenizer.kind} tokenizer` : `fitting the ${spec.tokenizer.kind} tokenizer` });
  const tokenizer = teacher?.tokenizer ?? buildTokenizer(spec.tokenizer, () => (spec.tokenizer.kind === 'bpe' ? train.lines : [train.text]));
  const trainIds = Int32Array.from(tokenizer.encode(train.text));
  const valIds = Int32Array.from(tokenizer.encode(heldOut.text));
  const m = spec.model;
  const gpt = createGpt({ vocabSize: tokenizer.vocabSize, context: m.context, layers: m.layers, heads: m.heads, dim: m.dim }, spec.training.seed);
  ctx.log(`training a causal_lm (${m.layers} layers, ${m.heads} heads, dim ${m.dim}, context ${m.context}, ${gpt.weights.length} parameters) on ${trainIds.length} tokens, validating on ${valIds.length}; ${spec.tokenizer.kind} vocabulary of ${tokenizer.vocabSize}`);
  const resume = await loadResume(ctx, gpt);
  const entries: HistoryEntry[] = [];
  if (teacher) ctx.log(`distilling from version ${teacher.ref.version} of ${teacher.ref.model} (${teacher.gpt.gpt.weights.length} parameters; temperature ${teacher.gpt.temperature}, alpha ${teacher.gpt.alpha})`);
  const history = await trainModel(ctx, gpt, tokenizer, trainIds, valIds, resume, entries, teacher?.gpt);
  const last = history.evals[history.evals.length - 1]!;
  // The teacher scored on the student's held-out windows, beside the student's test figures.
  const teacherTest = teacher ? roundAll(await evaluateLm(teacher.gpt.gpt, valIds, m.context, { intraOpThreads: ctx.threads })) : undefined;
  const metrics = {
    test: { valLoss: round(last.valLoss!), perplexity: round(last.perplexity!), valAccuracy: round(last.valAccuracy!) },
    training: {
      loss: round(last.loss), tokensPerSecond: round(history.tokensPerSecond), trainSeconds: round(history.trainSeconds), steps: spec.training.steps,
      tokens: spec.training.steps * spec.training.batchSize * m.context, peakRssBytes: peakRssBytes(),
      parameters: gpt.weights.length, vocabSize: tokenizer.vocabSize, trainTokens: trainIds.length, valTokens: valIds.length,
    },
    // A resumed job's entries before its checkpoint were reported by the earlier attempt: keep what this one saw.
    history: entries,
    ...(teacher && teacherTest ? {
      distillation: { teacher: { model: teacher.ref.model, version: teacher.ref.version }, temperature: teacher.gpt.temperature, alpha: teacher.gpt.alpha, teacherTest },
    } : {}),
  };
  ctx.progress({ fraction: 0.97, message: 'registering the model version' });
  const files = hfFolder(gpt, tokenizer);
  const artifact = files.get('onnx/model.onnx')!;
  files.delete('onnx/model.onnx');
  const signature = signatureFromGraph(await inspectModel(artifact), { task: 'language_modeling' });
  ctx.signal.throwIfAborted();
  const version = await registry.registerVersion(ctx.tenantId, {
    name: spec.name, artifact, kind: 'causal_lm', task: 'language_modeling', signature, metrics, source: 'trained', files,
    lineage: { job: ctx.jobId, dataset: spec.dataset, datasetVersion: spec.datasetVersion, ...(spec.teacher ? { teacher: spec.teacher } : {}) },
    params: { ...spec, tokenizer: { ...spec.tokenizer, vocabSize: tokenizer.vocabSize } },
  });
  ctx.log(`registered ${version.name} version ${version.version}`);
  return { metrics, result: { model: version.name, version: version.version } };
}

async function trainModel(
  ctx: JobContext<LmSpec>, gpt: Gpt, tokenizer: TextTokenizer, trainIds: Int32Array, valIds: Int32Array, resume: LmCheckpoint | undefined, entries: HistoryEntry[], teacher?: LmTeacher,
) {
  const t = ctx.spec.training;
  return trainLm(gpt, trainIds, valIds, {
    steps: t.steps, batchSize: t.batchSize, seed: t.seed, evalEvery: ctx.spec.evalEvery, dropout: ctx.spec.model.dropout, progressEvalWindows: PROGRESS_EVAL_WINDOWS,
    optimizer: { type: 'adamw', learningRate: t.learningRate, weightDecay: t.weightDecay, ...(t.clipNorm !== undefined ? { clipNorm: t.clipNorm } : {}) },
    warmupSteps: t.schedule.warmupSteps, schedule: t.schedule.kind,
    sampleTokens: SAMPLE_TOKENS, samplePrompt: [valIds[0]!], temperature: 0.8,
    intraOpThreads: ctx.threads, signal: ctx.signal, resume, teacher,
    onEval: (e) => { entries.push(report(ctx, tokenizer, e, valIds[0]!)); },
    onCheckpoint: (c) => ctx.checkpoint.save(encodeLmCheckpoint(gpt.weights, c)),
  });
}

/** One evaluation as the history keeps it; heapUsedBytes shows whether training grows the heap. */
interface HistoryEntry {
  step: number;
  loss: number;
  valLoss: number;
  perplexity: number;
  valAccuracy: number;
  learningRate: number;
  tokensPerSecond: number;
  heapUsedBytes: number;
  sample?: string;
}

/** One evaluation: progress by step, a metrics event (with the sample, for the console), log lines. */
function report(ctx: JobContext<LmSpec>, tokenizer: TextTokenizer, e: LmEval, prompt: number): HistoryEntry {
  const steps = ctx.spec.training.steps;
  const sample = e.sample ? tokenizer.decode([prompt, ...e.sample]) : undefined;
  ctx.progress({ fraction: 0.05 + 0.9 * (e.step / steps), message: `step ${e.step}/${steps}` });
  const entry: HistoryEntry = {
    step: e.step, loss: round(e.loss), valLoss: round(e.valLoss!), perplexity: round(e.perplexity!), valAccuracy: round(e.valAccuracy!),
    learningRate: e.learningRate, tokensPerSecond: round(e.tokensPerSecond), heapUsedBytes: process.memoryUsage().heapUsed, ...(sample !== undefined ? { sample } : {}),
  };
  ctx.metrics({ ...entry });
  ctx.log(`step ${e.step}/${steps}: loss ${e.loss.toFixed(4)}, valLoss ${e.valLoss!.toFixed(4)}, perplexity ${e.perplexity!.toFixed(2)}, ${Math.round(e.tokensPerSecond)} tokens/s`);
  if (sample !== undefined) ctx.log(`sample at step ${e.step}: ${JSON.stringify(sample)}`);
  return entry;
}

/**
 * The teacher of a distilled language model: the version pinned at submission, its tokenizer
 * (the student's, so both predict over one vocabulary) and its GPT read back from its graph.
 */
async function loadTeacher(registry: RegistryService, ctx: JobContext<LmSpec>): Promise<{ ref: NonNullable<LmSpec['teacher']>; tokenizer: TextTokenizer; gpt: LmTeacher }> {
  const ref = ctx.spec.teacher!;
  ctx.progress({ fraction: 0.01, message: `reading the teacher (version ${ref.version} of ${ref.model})` });
  const version = await registry.resolve(ctx.tenantId, ref.model, ref.version);
  const which = `teacher: version ${ref.version} of '${ref.model}'`;
  const json = await registry.readFile(version, 'tokenizer.json');
  const gpt = gptFromDecoder(decodeModel(await registry.readArtifact(version)));
  if (!json || !gpt) throw new InvalidInputError('teacher_mismatch', `${which} has no ${json ? 'float32 GPT weights in its graph' : 'tokenizer.json'}; distil from a causal_lm trained on this platform.`, { field: 'teacher' });
  const tokenizer = readTokenizerJson(JSON.parse(json.toString('utf8')));
  if (tokenizer.vocabSize !== gpt.config.vocabSize) throw new InvalidInputError('teacher_mismatch', `${which}: its tokenizer has ${tokenizer.vocabSize} tokens, its graph ${gpt.config.vocabSize}.`, { field: 'teacher' });
  return { ref, tokenizer, gpt: { gpt, temperature: ref.temperature, alpha: ref.alpha } };
}

const roundAll = <T extends Record<string, number | undefined>>(o: T): T => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v === undefined ? v : round(v)])) as T;

/** The worker process' peak resident set so far (it runs this job only): weights, runtime arenas, data. */
const peakRssBytes = (): number => process.resourceUsage().maxRSS * 1024;

async function loadResume(ctx: JobContext<LmSpec>, gpt: Gpt): Promise<LmCheckpoint | undefined> {
  const saved = await ctx.checkpoint.load();
  if (!saved) return undefined;
  const { weights, checkpoint } = decodeLmCheckpoint(saved);
  if (weights.length !== gpt.weights.length) throw new Error(`checkpoint: ${weights.length} weights, the model has ${gpt.weights.length}`);
  gpt.weights = weights;
  ctx.log(`resuming from the checkpoint at step ${checkpoint.step}`);
  return checkpoint;
}

async function readLines(datasets: DatasetService, p: Principal, spec: LmSpec): Promise<string[]> {
  const { reader } = await datasets.open(p, spec.dataset, spec.datasetVersion);
  try {
    const table = await loadTable(reader, reader.columns.map((c) => c.name).filter((n) => n !== spec.text));
    const c = column(table, spec.text, 'text');
    if (!('codes' in c)) throw new InvalidInputError('invalid_train_spec', `text: column '${spec.text}' is not a text column.`, { field: 'text' });
    const out: string[] = [];
    for (const code of c.codes) if (code >= 0) out.push(c.dictionary[code]!);
    return out;
  } finally {
    await reader.close();
  }
}

/** The last `validation` share of lines (at least one) is held out; each part is its lines joined by "\n". */
export function splitLines(lines: string[], validation: number): { train: { lines: string[]; text: string }; heldOut: { lines: string[]; text: string } } {
  const nVal = Math.min(lines.length - 1, Math.max(1, Math.round(lines.length * validation)));
  if (lines.length < 2) throw new InvalidInputError('corpus_too_short', `text: the column has ${lines.length} non-empty line(s); a language model needs lines to train on and lines to hold out.`, { field: 'text' });
  const trainLines = lines.slice(0, lines.length - nVal);
  const valLines = lines.slice(lines.length - nVal);
  return { train: { lines: trainLines, text: trainLines.join('\n') }, heldOut: { lines: valLines, text: valLines.join('\n') } };
}

const round = (x: number) => Math.round(x * 10000) / 10000;
