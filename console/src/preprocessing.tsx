/** What preprocessing a version was trained with: the steps "auto" stood for, dropped columns, features. */

interface Step { op: string; [k: string]: unknown }

interface Params {
  preprocessing?: 'auto' | Step[];
  steps?: Step[];
  droppedColumns?: string[];
  features?: number;
}

/** One step in words: "impute missing values (median)", "scale by 0.003922". */
export function describeStep(s: Step): string {
  const cols = Array.isArray(s.columns) && s.columns.length ? ` of ${(s.columns as string[]).join(', ')}` : '';
  switch (s.op) {
    case 'drop_duplicates': return 'drop duplicate rows (training only)';
    case 'drop': return `drop columns ${(s.columns as string[] | undefined)?.join(', ') ?? ''}`;
    case 'impute': return `impute missing values${cols} (${String(s.strategy ?? 'mean')}${s.value !== undefined ? ` = ${String(s.value)}` : ''})`;
    case 'standardize': return `standardize numbers${cols} (mean 0, std 1)`;
    case 'minmax': return `rescale numbers${cols} to 0..1${s.shared ? ' (one range for all, from the training rows)' : ''}`;
    case 'scale': return `multiply numbers${cols} by ${typeof s.factor === 'number' ? Number(s.factor.toPrecision(4)) : String(s.factor)}`;
    case 'clip_outliers': return `clip outliers${cols} (${String(s.method ?? 'iqr')})`;
    case 'one_hot': return `one-hot encode categories${cols}`;
    case 'reshape': return `reshape each row to ${JSON.stringify(s.shape)}`;
    case 'augment': return `augment images (training only)`;
    default: return s.op;
  }
}

export function PreprocessingView({ params }: { params: unknown }) {
  const p = (params ?? {}) as Params;
  if (!p.steps && !p.preprocessing) return null;
  const steps = p.steps ?? (Array.isArray(p.preprocessing) ? p.preprocessing : []);
  return (
    <section aria-labelledby="pre-heading" data-testid="preprocessing">
      <h2 id="pre-heading">Preprocessing {p.preprocessing === 'auto' && <small className="muted">"auto" chose these steps</small>}</h2>
      {steps.length ? <ol className="steps">{steps.map((s, i) => <li key={i}>{describeStep(s)}</li>)}</ol> : <p className="muted">None: raw columns go to the model.</p>}
      <p className="muted small">
        {p.features !== undefined && <>{p.features} features reach the model. </>}
        {p.droppedColumns?.length ? <>Dropped: {p.droppedColumns.join(', ')}.</> : null}
        {' '}Every fitted step is inside the ONNX file, so the endpoint takes raw rows.
      </p>
    </section>
  );
}
