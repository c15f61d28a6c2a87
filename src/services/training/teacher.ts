/**
 * Knowledge distillation in a train job (API.md "Model optimization"): `teacher` names a classifier
 * version of the same tenant (trained here or imported, any kind that gives probabilities); the
 * job runs the teacher's graph once over the dataset's rows and the student network trains on a
 * loss that mixes those probabilities, softened at `temperature`, with the labels (engine
 * losses.ts distillationLoss). Checked at submission as far as the dataset's profile allows, and
 * exactly (label sets, columns) in the job.
 */
import { InvalidInputError } from '../../infra/errors.js';
import { openSession } from '../../engine/runtime.js';
import type { ColumnProfile } from '../../ml/data/profile.js';
import type { RawTable } from '../../ml/training-table.js';
import type { DatasetVersion } from '../datasets.js';
import type { Principal } from '../principal.js';
import type { ModelVersion, RegistryService, TeacherRef } from '../registry.js';
import { fail, isObject, num, onlyFields } from './spec-fields.js';
import type { EncodedTarget } from './target.js';
import { importedFeeds, runVersion } from './version-feeds.js';
import { scoreOutputs } from './evaluate.js';
import type { ClassificationMetrics } from '../../ml/metrics/classification.js';
import { NEURAL_KINDS, TEXT_KINDS } from '../../api/training-types.js';

export type TeacherSpec = TeacherRef;

const FIELDS = ['model', 'version', 'temperature', 'alpha'];

const mismatch = (message: string, details: Record<string, unknown> = {}) =>
  new InvalidInputError('teacher_mismatch', `teacher: ${message}`, { field: 'teacher', ...details });

/** The `teacher` field of a train spec, against the student's kind, task and target column. */
export async function parseTeacher(
  raw: unknown, ctx: { principal: Principal; registry?: RegistryService },
  student: { kind: string; task: string; dataset: DatasetVersion; target: ColumnProfile },
): Promise<TeacherSpec> {
  const students: readonly string[] = [...NEURAL_KINDS, ...TEXT_KINDS];
  if (!students.includes(student.kind)) {
    throw new InvalidInputError('not_available', `teacher: a ${student.kind} is not trained by gradient descent, so it cannot learn from a teacher's probabilities; the student must be one of ${students.join(', ')} (or a causal_lm, from a causal_lm teacher).`, { field: 'model.kind' });
  }
  if (student.task !== 'classification') throw fail('teacher', 'distillation learns class probabilities: the student must be a classifier (task "classification").');
  const { ref, teacher } = await resolveTeacher(raw, ctx);
  checkTeacher(teacher, student.dataset, student.target);
  return { ...ref, model: teacher.name, version: teacher.version };
}

/** The fields every teacher has (model, version, temperature, alpha), and the version they name (another tenant's is a 404, as a missing one). */
export async function resolveTeacher(raw: unknown, ctx: { principal: Principal; registry?: RegistryService }): Promise<{ ref: TeacherSpec; teacher: ModelVersion }> {
  if (!isObject(raw)) throw fail('teacher', 'must be an object like {"model": "big-mlp", "version": 1, "temperature": 2, "alpha": 0.5}.');
  onlyFields(raw, FIELDS, 'teacher');
  if (!ctx.registry) throw fail('teacher', 'distillation is available in train jobs, not inside a tune job.');
  if (typeof raw.model !== 'string' || !raw.model) throw fail('teacher.model', 'name the teacher model, e.g. "model": "big-mlp".');
  const version = raw.version ?? 'latest';
  if (typeof version !== 'number' && typeof version !== 'string') throw fail('teacher.version', 'a version number, a stage name or "latest".');
  const temperature = raw.temperature === undefined ? 2 : num(raw.temperature, 'teacher.temperature', 0.1, 100);
  const alpha = raw.alpha === undefined ? 0.5 : num(raw.alpha, 'teacher.alpha', 0, 1);
  const teacher = await ctx.registry.getVersion(ctx.principal, raw.model, version);
  return { ref: { model: teacher.name, version: teacher.version, temperature, alpha }, teacher };
}

/** A language model's teacher as its lineage records it: the shape and tokenizer of a causal_lm trained here. */
export interface LmTeacherShape {
  model: { layers: number; heads: number; dim: number; context: number };
  tokenizer: { kind: string; vocabSize: number };
}

/**
 * What a causal_lm student needs of its teacher, known before the job runs: a causal_lm trained
 * here (its weights are GPT parameters the engine can run inside the student's training step),
 * not an imported folder nor an optimized copy (int8/int4/fp16 weights).
 */
export function lmTeacherShape(t: ModelVersion): LmTeacherShape {
  const which = `version ${t.version} of '${t.name}'`;
  if (t.kind !== 'causal_lm') throw mismatch(`${which} is a ${t.kind}; a language model learns from a causal_lm teacher (its next-token probabilities).`, { teacherKind: t.kind });
  if (t.lineage.optimizedFrom) {
    const f = t.lineage.optimizedFrom;
    throw mismatch(`${which} was made by ${f.method} from version ${f.version} of '${f.model}': its weights are no longer float32 GPT parameters. Distil from version ${f.version}.`, { optimizedFrom: f });
  }
  const p = t.lineage.params as { model?: LmTeacherShape['model']; tokenizer?: LmTeacherShape['tokenizer'] };
  if (t.source !== 'trained' || !p.model || !p.tokenizer?.vocabSize) {
    throw mismatch(`${which} was imported; a language-model teacher must be a causal_lm trained on this platform (the student runs its weights inside its training step).`, { source: t.source });
  }
  return { model: p.model, tokenizer: p.tokenizer };
}

/** What the dataset's profile tells before the job runs: a classifier, as many classes, columns it can read. */
function checkTeacher(t: ModelVersion, dataset: DatasetVersion, target: ColumnProfile): void {
  const which = `version ${t.version} of '${t.name}'`;
  if (t.signature.task !== 'classification') {
    throw mismatch(`${which} is a ${t.signature.task === 'regression' ? 'regressor' : t.kind} (task ${t.signature.task}); a teacher must be a classifier that gives class probabilities.`, { teacherTask: t.signature.task });
  }
  const classes = teacherClasses(t);
  if (classes !== undefined && !target.distinctCapped && classes !== target.distinct) {
    throw mismatch(`${which} predicts ${classes} classes${t.signature.labels ? ` (${t.signature.labels.slice(0, 10).join(', ')})` : ''}; the target '${target.name}' has ${target.distinct}. A teacher must predict the student's classes.`, { teacherClasses: classes, studentClasses: target.distinct });
  }
  const have = new Set(dataset.columns.map((c) => c.name));
  const missing = t.signature.inputs.filter((i) => !have.has(i.name) || i.name === target.name).map((i) => i.name);
  if (missing.length) {
    throw mismatch(`${which} reads columns the dataset '${dataset.name}' does not give it: ${missing.slice(0, 8).join(', ')}. The teacher must read the student's training rows.`, { columns: missing });
  }
}

/** A classifier's class count, from its labels or its probability output's width. */
function teacherClasses(t: ModelVersion): number | undefined {
  if (t.signature.labels) return t.signature.labels.length;
  const probs = t.signature.outputs.find((o) => o.dtype === 'float32' && o.shape.length === 2 && o.shape[1]! > 1);
  return probs?.shape[1];
}

export interface TeacherTargets {
  /** The teacher's probabilities of every row of the table (rows it was not run on are 0), in the student's class order. */
  probabilities: Float32Array;
  classes: number;
  temperature: number;
  alpha: number;
}

/**
 * Runs the teacher's graph over `rows` of the table (batched by runArtifact) and maps its classes
 * onto the student's labels; a different label set is a 422 naming both.
 */
export async function teacherTargets(
  registry: RegistryService, tenantId: string, spec: TeacherSpec, table: RawTable, rows: Int32Array, target: EncodedTarget, skip: string, threads: number,
): Promise<TeacherTargets> {
  const teacher = await registry.resolve(tenantId, spec.model, spec.version);
  const studentLabels = target.labels!;
  const session = await openSession(new Uint8Array(await registry.readArtifact(teacher)), { intraOpThreads: threads });
  let out;
  try {
    out = await runVersion(session, importedFeeds(teacher.signature, table, rows, skip), teacher.signature);
  } finally {
    await session.release();
  }
  if (!out.probabilities || !out.classCount) throw mismatch(`version ${teacher.version} of '${teacher.name}' gives no class probabilities.`);
  const c = out.classCount;
  const labels = teacher.signature.labels ?? Array.from({ length: c }, (_, i) => String(i));
  const index = new Map(studentLabels.map((l, i) => [l, i]));
  const unknown = labels.filter((l) => !index.has(l));
  if (labels.length !== studentLabels.length || unknown.length) {
    throw mismatch(`version ${teacher.version} of '${teacher.name}' predicts the classes ${labels.slice(0, 10).join(', ')}; the student's target has ${studentLabels.slice(0, 10).join(', ')}. A teacher must predict the student's classes.`,
      { teacherLabels: labels.slice(0, 50), studentLabels: studentLabels.slice(0, 50) });
  }
  const k = studentLabels.length;
  const probabilities = new Float32Array(table.rows * k);
  const to = labels.map((l) => index.get(l)!);
  rows.forEach((r, i) => {
    for (let j = 0; j < c; j++) probabilities[r * k + to[j]!] = out.probabilities![i * c + j]!;
  });
  return { probabilities, classes: k, temperature: spec.temperature, alpha: spec.alpha };
}

/** The teacher's probabilities of `rows`, in that order (n × classes). */
export function probabilitiesOf(t: TeacherTargets, rows: ArrayLike<number>): Float32Array {
  const k = t.classes;
  const out = new Float32Array(rows.length * k);
  for (let i = 0; i < rows.length; i++) out.set(t.probabilities.subarray(rows[i]! * k, rows[i]! * k + k), i * k);
  return out;
}

/** The teacher's test metrics on the student's held-out rows (its probabilities' arg-max as its labels). */
export function teacherMetrics(t: TeacherTargets, rows: Int32Array, target: EncodedTarget): ClassificationMetrics {
  const p = probabilitiesOf(t, rows);
  const k = t.classes;
  const labels = Int32Array.from(rows, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (p[i * k + j]! > p[i * k + best]!) best = j;
    return best;
  });
  const truth = Float64Array.from(rows, (r) => target.values[r]!);
  return scoreOutputs('classification', truth, { labels, probabilities: p, classCount: k }, target.labels) as ClassificationMetrics;
}
