/**
 * Every way an upload can be rejected, in one place so codes, statuses and wording stay consistent.
 *
 * 400: the bytes are not a valid file of the declared format (bad gzip, bad UTF-8, ragged CSV,
 *      broken quotes, bad JSON). 413: over a size limit. 422: the file parses but is not a usable
 *      table (empty, no rows, bad or duplicate column names, too many columns).
 * `details.line` is the 1-based physical line in the decompressed file wherever it is known.
 */
import { InternalError, InvalidInputError, MalformedInputError, TooLargeError } from '../../infra/errors.js';

/** More columns than this is almost always a broken file (wrong delimiter, a missing newline). */
export const MAX_COLUMNS = 10_000;
/** A column name longer than this is data in the header line (a missing header), not a name. */
export const MAX_COLUMN_NAME_CHARS = 256;
/** A single CSV field or JSONL line longer than this is almost always an unbalanced quote. */
export const MAX_FIELD_BYTES = 32 * 1024 * 1024;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export const dataErrors = {
  payloadTooLarge: (limit: number) =>
    new TooLargeError('payload_too_large', `The upload is larger than the limit of ${limit} bytes. Split the dataset, compress it with gzip, or raise the limit (server setting AIAAS_DATASET_MAX_BYTES).`, {
      limit, setting: 'AIAAS_DATASET_MAX_BYTES',
    }),
  decompressedTooLarge: (limit: number) =>
    new TooLargeError('payload_too_large',
      `The file decompresses to more than ${limit} bytes, the dataset size limit, which applies to the data after decompression. Split the dataset into smaller files, or raise the limit (server setting AIAAS_DATASET_MAX_BYTES).`,
      { limit, decompressed: true, setting: 'AIAAS_DATASET_MAX_BYTES' },
    ),
  tooManyCells: (limit: number, rows: number, columns: number, line: number) =>
    new TooLargeError('payload_too_large',
      `Line ${line}: the table reaches ${rows} rows × ${columns} columns, more than the limit of ${limit} cells. Split the dataset, drop columns, or raise the limit (server setting AIAAS_DATASET_MAX_CELLS).`,
      { limit, rows, columns, line, setting: 'AIAAS_DATASET_MAX_CELLS' },
    ),
  columnNameTooLong: (position: number, length: number, line: number) =>
    new InvalidInputError(
      'column_name_too_long',
      `Column ${position} has a name of ${length} characters (line ${line}); the limit is ${MAX_COLUMN_NAME_CHARS}. Shorten it; if the first line holds data rather than names, add a header line.`,
      { position, length, limit: MAX_COLUMN_NAME_CHARS, line },
    ),
  invalidGzip: (reason: string) =>
    new MalformedInputError('invalid_gzip', `The upload starts like a gzip file but cannot be decompressed (${reason}). Re-compress it, or upload it uncompressed.`, {
      reason,
    }),
  invalidUtf8: (line: number) =>
    new MalformedInputError('invalid_utf8', `Line ${line} is not valid UTF-8. Save the file with UTF-8 encoding (for example "CSV UTF-8" in Excel) and upload it again.`, {
      line,
    }),
  emptyFile: (format: string) =>
    new InvalidInputError(
      'empty_file',
      format === 'csv'
        ? 'The file is empty. Upload a CSV file with a header line and at least one data row.'
        : format === 'text'
          ? 'The file is empty. Upload a text file with at least one line (a corpus: one row per line).'
          : 'The file is empty. Upload a JSONL file with one JSON object per line.',
    ),
  noRows: (line: number) =>
    new InvalidInputError('no_rows', 'The file has a header line but no data rows. Add at least one row below the header.', { line }),
  noColumns: (line: number) =>
    new InvalidInputError('no_columns', 'Every JSON object in the file is empty, so there are no columns. Give the objects at least one key.', {
      line,
    }),
  emptyColumnName: (position: number, line: number) =>
    new InvalidInputError(
      'empty_column_name',
      `Column ${position} has an empty name (line ${line}). Give every column a name; if it is an index column written by pandas, re-export with index=False.`,
      { position, line },
    ),
  duplicateColumn: (name: string, first: number, second: number, line: number) =>
    new InvalidInputError(
      'duplicate_column',
      `Columns ${first} and ${second} are both named '${name}' (line ${line}). Rename one of them so every column name is unique.`,
      { column: name, positions: [first, second], line },
    ),
  tooManyColumns: (line: number) =>
    new InvalidInputError(
      'too_many_columns',
      `Line ${line} has more than ${MAX_COLUMNS} columns, the limit. Check the delimiter (only commas separate CSV fields) or reduce the number of columns.`,
      { limit: MAX_COLUMNS, line },
    ),
  raggedRow: (line: number, fields: number, expected: number) =>
    new MalformedInputError(
      'ragged_row',
      `Line ${line} has ${plural(fields, 'field')} but the header has ${expected}. Every row needs one value per column: quote values that contain commas, and leave missing values empty (a,,c).`,
      { line, fields, expected },
    ),
  unterminatedQuote: (line: number) =>
    new MalformedInputError(
      'unterminated_quote',
      `The quoted field that starts on line ${line} is never closed. Close the quote; a quote inside a quoted field is written as two quotes ("").`,
      { line },
    ),
  invalidQuote: (line: number, column: number) =>
    new MalformedInputError(
      'invalid_quote',
      `Line ${line}, column ${column}: a quoted field is followed by more text before the next comma. Quote the whole field, and write a quote inside it as two quotes ("").`,
      { line, column },
    ),
  fieldTooLong: (line: number) =>
    new MalformedInputError(
      'field_too_long',
      `The field or line starting on line ${line} is longer than ${MAX_FIELD_BYTES} bytes. This usually means a quote that is never closed; check the quotes near line ${line}.`,
      { line, limit: MAX_FIELD_BYTES },
    ),
  invalidJson: (line: number, reason: string) =>
    new MalformedInputError('invalid_json', `Line ${line} is not valid JSON (${reason}). Each line of a JSONL file must be one complete JSON object.`, {
      line,
      reason,
    }),
  notAnObject: (line: number, got: string) =>
    new MalformedInputError('not_an_object', `Line ${line} is a JSON ${got}, not an object. Each line of a JSONL file must be one JSON object such as {"a": 1}.`, {
      line,
      got,
    }),
  unknownFormat: (format: string) =>
    new MalformedInputError('invalid_format', `Unknown dataset format '${format}'. Use format=csv, format=jsonl or format=text.`, { format }),
  corruptColumnar: (reason: string) =>
    new InternalError('corrupt_dataset', `The stored dataset file is damaged (${reason}). Upload the dataset again.`, { reason }),
};
