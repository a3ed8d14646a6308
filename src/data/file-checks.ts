/**
 * Checks on the files DuckDB reads, for what it would otherwise do quietly or report unclearly:
 * line numbers as an editor counts them, the line of an unterminated quote, JSON arrays cut
 * short, repeated header names, a likely other delimiter, and text columns of mostly numbers.
 */
import { createReadStream, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { DataSourceError } from './data-errors.js';
import { type DataEngine, quoteIdent, quoteString } from './duckdb.js';
import { type CsvOptions, type LoadedTable, ROW_ORDINAL } from './source-types.js';

/** DuckDB reads a JSON array cut off after a comma as complete; a truncated file is an error. */
export async function checkJsonArrayEnd(path: string, shown: string): Promise<void> {
  // Compressed files are left to DuckDB (reading them twice to check would double the cost).
  if (/\.(gz|zst)$/i.test(path)) return;
  if ((await firstNonSpaceCharacter(path)) !== '[') return;
  const { size } = statSync(path);
  const handle = await open(path, 'r');
  try {
    const length = Math.min(size, 4096);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    if (!buffer.toString('utf8').trimEnd().endsWith(']')) {
      throw new DataSourceError(
        shown,
        "not readable as JSON: the array is not closed with ']' (a truncated file?)",
      );
    }
  } finally {
    await handle.close();
  }
}

/**
 * When DuckDB's sniffer gives up (typically an unterminated quote), read the file again with no
 * sniffing, every column as text, to find the first bad line and say what is wrong with it.
 */
export async function locateBadLine(
  engine: DataEngine,
  path: string,
  delimiter: string,
  options: CsvOptions,
  id: string,
): Promise<{ line: number; error: string } | undefined> {
  try {
    if (!countsFileLines(path, options)) return undefined;
    const header = (await readFirstLine(path)).replace(/\r$/, '');
    const count = splitCsvLine(header, delimiter).length;
    const columns = Array.from({ length: count }, (_, k) => `'c${k}': 'VARCHAR'`).join(', ');
    const args = [
      `delim = ${quoteString(delimiter)}`,
      `header = ${options.header ?? true}`,
      `quote = '"'`,
      `escape = '"'`,
      'auto_detect = false',
      `columns = {${columns}}`,
      'store_rejects = true',
      `rejects_scan = '${id}_locate_scan'`,
      `rejects_table = '${id}_locate'`,
    ];
    if (options.encoding) args.push(`encoding = ${quoteString(options.encoding)}`);
    await engine.rows(`SELECT count(*) FROM read_csv(${quoteString(path)}, ${args.join(', ')})`);
    const rows = await engine.rows<{
      line_byte_position: number | null;
      line: number;
      error_message: string;
    }>(`SELECT line_byte_position, line, error_message FROM ${id}_locate ORDER BY line LIMIT 1`);
    const first = rows[0];
    if (!first) return undefined;
    const [physical] = await lineNumbersAt(path, [first.line_byte_position]);
    return {
      line: physical ?? Number(first.line),
      error: (first.error_message.split('\n')[0] ?? first.error_message).replace(/\.\s*$/, ''),
    };
  } catch {
    return undefined;
  }
}

async function firstNonSpaceCharacter(path: string): Promise<string | undefined> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      const match = /[^\s\uFEFF]/.exec(chunk);
      if (match) return match[0];
    }
    return undefined;
  } finally {
    stream.destroy();
  }
}

/** Whether the file's bytes are the text DuckDB parsed: not compressed, UTF-8. */
export function countsFileLines(path: string, options: CsvOptions): boolean {
  return !/\.(gz|zst)$/i.test(path) && (options.encoding ?? 'utf-8') === 'utf-8';
}

/** Splits one CSV line on a delimiter outside double quotes ("" is a quote inside quotes). */
export function splitCsvLine(line: string, delimiter: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (line.startsWith(delimiter, i)) {
      fields.push(field);
      field = '';
      i += delimiter.length - 1;
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

async function readFirstLine(path: string): Promise<string> {
  const stream = createReadStream(path, { encoding: 'utf8', end: 64 << 20 });
  let text = '';
  for await (const chunk of stream as AsyncIterable<string>) {
    text += chunk;
    const newline = text.indexOf('\n');
    if (newline >= 0) {
      stream.destroy();
      return text.slice(0, newline);
    }
  }
  return text;
}

/** 1-based line numbers of byte offsets in a file, by counting newlines in one streaming pass. */
export async function lineNumbersAt(
  path: string,
  offsets: (number | null)[],
): Promise<(number | undefined)[]> {
  const wanted = offsets
    .map((offset, index) => ({ offset: offset === null ? -1 : Number(offset), index }))
    .filter((entry) => entry.offset >= 0)
    .sort((a, b) => a.offset - b.offset);
  const result: (number | undefined)[] = offsets.map(() => undefined);
  if (wanted.length === 0) return result;
  let next = 0;
  let position = 0;
  let newlines = 0;
  let afterCarriageReturn = false;
  const stream = createReadStream(path, { end: wanted[wanted.length - 1]!.offset });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++, position++) {
      while (next < wanted.length && wanted[next]!.offset === position)
        result[wanted[next++]!.index] = newlines + 1;
      // A line ends at \n, \r\n or a lone \r (old Mac files).
      const byte = chunk[i];
      if (byte === 13 || (byte === 10 && !afterCarriageReturn)) newlines++;
      afterCarriageReturn = byte === 13;
    }
  }
  while (next < wanted.length) result[wanted[next++]!.index] = newlines + 1;
  return result;
}

export function csvMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const first = (lines[0] ?? text).replace(/^[A-Za-z ]+Error: /, '');
  // DuckDB's CSV errors put the useful reason on a later line.
  const reason = lines.find(
    (line, index) =>
      index > 0 && !line.startsWith('Original Line') && !line.startsWith('LINE ') && !/^\s/.test(line),
  );
  const message = reason && !first.includes(reason) ? `${first} ${reason}` : first;
  // The sniffer gives up on a file it cannot split into rows; say what usually causes that.
  return /sniffing|dialect/i.test(message)
    ? `${message} (check for an unterminated quote, or a delimiter or line ending that changes part-way; --delimiter and --no-header help the sniffer)`
    : message;
}

/**
 * What DuckDB does quietly with a header: repeated names get a suffix (x, x_1); and a file with
 * another delimiter than the one given reads as a single column.
 */
export async function headerWarnings(
  path: string,
  table: LoadedTable,
  options: CsvOptions,
  delimiter: string,
): Promise<string[]> {
  const warnings: string[] = [];
  if (!countsFileLines(path, options)) return warnings;
  const header = (await readFirstLine(path).catch(() => '')).replace(/\r$/, '').replace(/^\uFEFF/, '');
  if (options.header !== false) {
    const names = splitCsvLine(header, delimiter).map((n) => n.trim().toLowerCase());
    const repeated = [...new Set(names.filter((name, i) => name !== '' && names.indexOf(name) !== i))];
    if (repeated.length > 0) {
      warnings.push(
        `the header repeats ${repeated.map((n) => `'${n}'`).join(', ')} (names are compared ignoring case); the repeats were renamed with a suffix (${table.columns.map((c) => c.name).join(', ')})`,
      );
    }
  }
  if (table.columns.length === 1 && options.delimiter === undefined) {
    const other = [';', '\t', '|'].find((candidate) => header.includes(candidate));
    if (other) {
      warnings.push(
        `read as a single column, but the first line contains ${JSON.stringify(other)}: if that is the delimiter, give it (delimiter: ${JSON.stringify(other)}, --delimiter)`,
      );
    }
  }
  return warnings;
}

/**
 * A text column whose values are mostly numbers is usually a numeric column with a few bad
 * values; it is kept as text (never coerced) and reported.
 */
export async function mixedTypeWarnings(engine: DataEngine, table: LoadedTable): Promise<string[]> {
  const allText = table.columns.filter((column) => column.logicalType === 'string');
  if (allText.length === 0 || table.rowCount === 0) return [];
  // Casting every value is costly: first look at the first 10,000 rows, and scan in full only
  // the columns where numbers are at least a fifth of those (a column of names never is).
  const probe = await engine.row<Record<string, number>>(
    `SELECT ${allText.map((column, i) => `count(${quoteIdent(column.name)}) AS n${i}, count(TRY_CAST(${quoteIdent(column.name)} AS DOUBLE)) AS num${i}`).join(', ')} FROM (SELECT * FROM ${table.view} LIMIT 10000)`,
  );
  const textColumns = allText.filter((_, i) => {
    const n = Number(probe[`n${i}`] ?? 0);
    return n === 0 || Number(probe[`num${i}`] ?? 0) >= n / 5;
  });
  if (textColumns.length === 0) return [];
  const parts = textColumns.map((column, index) => {
    const name = quoteIdent(column.name);
    const notNumber = `${name} IS NOT NULL AND TRY_CAST(${name} AS DOUBLE) IS NULL`;
    return `count(${name}) AS n${index}, count_if(${notNumber}) AS bad${index}, min_by(${name}, ${ROW_ORDINAL}) FILTER (WHERE ${notNumber}) AS ex${index}, min(${ROW_ORDINAL}) FILTER (WHERE ${notNumber}) AS row${index}`;
  });
  const stats = await engine.row<Record<string, number | string | null>>(
    `SELECT ${parts.join(', ')} FROM ${table.view}`,
  );
  const warnings: string[] = [];
  textColumns.forEach((column, index) => {
    const count = Number(stats[`n${index}`] ?? 0);
    const bad = Number(stats[`bad${index}`] ?? 0);
    if (count > 0 && bad > 0 && bad <= count / 2) {
      warnings.push(
        `column '${column.name}': ${count - bad} of ${count} values are numbers but ${bad} ${bad === 1 ? 'is' : 'are'} not (e.g. ${JSON.stringify(truncate(String(stats[`ex${index}`]), 40))} at row ${Number(stats[`row${index}`]) + 1}); kept as text`,
      );
    }
  });
  return warnings;
}

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The date and timestamp formats DuckDB's sniff_csv found (null: none, or ISO). */
export interface SniffedDateFormats {
  DateFormat: string | null;
  TimestampFormat: string | null;
}

/**
 * DuckDB's sniffer reads 03/04/2024 day first when no value tells day from month, and 31-12-24
 * as 2031-12-24 (a two-digit year first). When every date of a column could be read another way,
 * that is a guess the user has to confirm: a warning names the column, the format read and the
 * other ones. `formats` come from sniffing the file with the load's own options.
 */
export async function ambiguousDateWarnings(
  engine: DataEngine,
  table: LoadedTable,
  options: CsvOptions,
  formats: SniffedDateFormats,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const [option, type, given] of [
    ['dateFormat', 'DATE', options.dateFormat],
    ['timestampFormat', 'TIMESTAMP', options.timestampFormat],
  ] as const) {
    if (given && !table.columns.some((column) => column.type.startsWith(type))) {
      warnings.push(
        `${option} '${given}' read no column as ${type}: columns whose values do not all parse with it are kept as text (to make such values errors instead, also give the column's type, e.g. types: { name: '${type}' })`,
      );
    }
  }
  const dated = table.columns.filter(
    (column) =>
      (column.type === 'DATE' && !options.dateFormat) ||
      (column.type === 'TIMESTAMP' && !options.timestampFormat),
  );
  if (dated.length === 0 || table.rowCount === 0) return warnings;
  const checked = dated.flatMap((column) => {
    const format = column.type === 'DATE' ? formats.DateFormat : formats.TimestampFormat;
    // Four-digit years first are ISO-like (%Y-%m-%d): DuckDB never tries %Y-%d-%m. A two-digit
    // year first (%y-%m-%d) is what it also picks for dd-mm-yy and mm-dd-yy.
    return format && /^%[dmy]/.test(format) && format.includes('%d') && format.includes('%m')
      ? [{ column, format }]
      : [];
  });
  if (checked.length === 0) return warnings;
  const parts = checked.map(({ column, format }, i) => {
    const c = quoteIdent(column.name);
    // What settles the reading: a day above 12 (it cannot be a month); for %y first, a year
    // above 31 (it cannot be a day).
    const settled = format.startsWith('%y') ? `year(${c}) % 100 > 31` : `day(${c}) > 12`;
    const telling = format.startsWith('%y') ? 'TRUE' : `day(${c}) <> month(${c})`;
    return `count_if(${settled}) AS over${i}, count_if(${telling}) AS differ${i}, strftime(min(${c}) FILTER (WHERE ${telling}), ${quoteString(format)}) AS written${i}, strftime(min(${c}) FILTER (WHERE ${telling}), '%Y-%m-%d') AS read${i}`;
  });
  const counts = await engine.row<Record<string, number | string | null>>(
    `SELECT ${parts.join(', ')} FROM ${table.view}`,
  );
  checked.forEach(({ column, format }, i) => {
    if (Number(counts[`over${i}`] ?? 0) > 0 || Number(counts[`differ${i}`] ?? 0) === 0) return;
    const option =
      column.type === 'DATE' ? 'dateFormat / --date-format' : 'timestampFormat / --timestamp-format';
    const example = `dates such as ${counts[`written${i}`]}`;
    if (format.startsWith('%y')) {
      // %y-%m-%d…: the same text as %d-%m-%y or %m-%d-%y with the first and last fields swapped.
      const dayFirst = format.replace(/^%y(.)%m(.)%d/, '%d$1%m$2%y');
      const monthFirst = format.replace(/^%y(.)%m(.)%d/, '%m$1%d$2%y');
      warnings.push(
        `column '${column.name}': ${example} were read as a two-digit year first (${format}, so ${counts[`read${i}`]}), but no year is above 31, so ${dayFirst} or ${monthFirst} may be meant; give the format to say which (${option})`,
      );
      return;
    }
    const other = format.replace(/%d|%m/g, (code) => (code === '%d' ? '%m' : '%d'));
    const order = format.startsWith('%d') ? 'day first' : 'month first';
    warnings.push(
      `column '${column.name}': ${example} were read ${order} (${format}, so ${counts[`read${i}`]}), but no day is above 12, so ${other} fits too; give the format to say which (${option})`,
    );
  });
  return warnings;
}
