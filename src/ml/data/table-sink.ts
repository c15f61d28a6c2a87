/**
 * The two small interfaces that connect the ingestion stages.
 *
 *   bytes -> [ByteStage: BOM, size limit] -> [Utf8Validator] -> [CsvTableReader | JsonlTableReader | TextLinesReader] -> TableSink
 *
 * The readers turn text into cells and call a TableSink; pass 1 (schema inference) and pass 2 (the
 * columnar writer) are both TableSinks, so the parsers exist once and are format-agnostic downstream.
 */

/** A push-based consumer of decompressed bytes. */
export interface ByteConsumer {
  push(chunk: Buffer): void;
  /** End of input: flush what is pending; may throw (e.g. an unterminated quote). */
  end(): void;
  /** 1-based physical line number of the next byte to be pushed (used to place errors). */
  readonly line: number;
}

/** Receives a table one cell at a time, row by row. Every row gets one call per column known at that point. */
export interface TableSink {
  /** A new column: all at the header for CSV; as keys first appear for JSONL (`rowsBefore` rows lack it). */
  addColumn(name: string, rowsBefore: number): void;
  /** A CSV cell: buf[start, end) holds the field text (quotes removed). Do not keep `buf`: it is reused. */
  cellBytes(col: number, buf: Buffer, start: number, end: number): void;
  /**
   * A literal text cell (format=text): buf[start, end) is text as it is, never a number, boolean or
   * missing token; only an empty cell is missing. Do not keep `buf`.
   */
  cellLiteral(col: number, buf: Buffer, start: number, end: number): void;
  /** A JSONL cell: the parsed JSON value, undefined for an absent key. */
  cellValue(col: number, value: unknown): void;
  /** The row that started on physical line `line` is complete. */
  endRow(line: number): void;
}
