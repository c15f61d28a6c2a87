/**
 * Streaming JSONL reader: one JSON object per line (LF or CRLF); blank lines are ignored.
 * Columns are the union of the objects' keys in first-seen order; a key absent from a row is a
 * missing value. Only the current line is held (as bytes, then one string for JSON.parse).
 */
import { dataErrors, MAX_COLUMN_NAME_CHARS, MAX_COLUMNS } from './errors.js';
import { LineReader } from './line-reader.js';
import type { ByteConsumer, TableSink } from './table-sink.js';

export class JsonlTableReader extends LineReader implements ByteConsumer {
  rows = 0;
  private readonly names: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly fixedColumns: boolean;

  /**
   * @param columns the columns, when already known (pass 2): keys are looked up, never discovered.
   */
  constructor(
    private readonly sink: TableSink,
    columns?: readonly string[],
  ) {
    super();
    this.fixedColumns = columns !== undefined;
    for (const name of columns ?? []) this.addColumn(name);
  }

  end(): void {
    this.flushLastLine();
    if (this.rows === 0) throw dataErrors.emptyFile('jsonl');
    if (this.names.length === 0) throw dataErrors.noColumns(this.line);
  }

  protected takeLine(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--; // CRLF
    let i = start;
    while (i < end && (buf[i] === 32 || buf[i] === 9 || buf[i] === 13)) i++;
    if (i === end) return; // blank line
    const text = buf.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw dataErrors.invalidJson(this.line, err instanceof Error ? err.message : String(err));
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw dataErrors.notAnObject(this.line, value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
    }
    this.row(value as Record<string, unknown>);
  }

  private row(obj: Record<string, unknown>): void {
    if (!this.fixedColumns) {
      for (const key of Object.keys(obj)) {
        if (this.index.has(key)) continue;
        if (key.trim() === '') throw dataErrors.emptyColumnName(this.names.length + 1, this.line);
        if (key.length > MAX_COLUMN_NAME_CHARS) throw dataErrors.columnNameTooLong(this.names.length + 1, key.length, this.line);
        if (this.names.length >= MAX_COLUMNS) throw dataErrors.tooManyColumns(this.line);
        this.addColumn(key);
        this.sink.addColumn(key, this.rows);
      }
    }
    const names = this.names;
    for (let j = 0; j < names.length; j++) {
      // hasOwn: a column named "toString" must not read Object.prototype.toString
      this.sink.cellValue(j, Object.hasOwn(obj, names[j]) ? obj[names[j]] : undefined);
    }
    this.sink.endRow(this.line);
    this.rows++;
  }

  private addColumn(name: string): void {
    this.index.set(name, this.names.length);
    this.names.push(name);
  }
}
