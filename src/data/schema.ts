/**
 * Dataset schemas (TFDV's SchemaGen): what columns a dataset has, their types, whether they may be
 * null, their categorical domains and numeric ranges. Inferred from statistics, then written as
 * YAML that users read, edit and commit; validation checks new data against it.
 */
import { stringify } from 'yaml';
import { z } from 'zod';
import { LOGICAL_TYPES, type LogicalType } from './columns.js';
import type { DatasetStatistics } from './statistics.js';
import { loadDataYamlFile, parseDataYaml } from './yaml-file.js';

const Bound = z.number().refine(Number.isFinite, 'must be a finite number');

const ColumnSchema = z
  .object({
    type: z.enum(LOGICAL_TYPES),
    /** The column must be present (default true). */
    required: z.boolean().default(true),
    /** Nulls are allowed (default false). */
    nullable: z.boolean().default(false),
    /** With nullable: the largest share of nulls that is not an anomaly (0–1). */
    maxMissingFraction: z.number().min(0).max(1).optional(),
    /** Numbers: the allowed [min, max], both inclusive; either may be left out. */
    range: z.object({ min: Bound.optional(), max: Bound.optional() }).strict().optional(),
    /** Numbers: NaN and ±Infinity are allowed (default false). */
    allowNonFinite: z.boolean().default(false),
    /** Text: the allowed values. */
    domain: z
      .array(z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .min(1)
      .optional(),
    /** With domain: the largest share of values outside it that is not an anomaly (default 0). */
    maxOutOfDomainFraction: z.number().min(0).max(1).default(0),
  })
  .strict()
  .superRefine((column, ctx) => {
    if (column.range && column.type !== 'integer' && column.type !== 'number') {
      ctx.addIssue({
        code: 'custom',
        path: ['range'],
        message: `a range needs type integer or number, not ${column.type}`,
      });
    }
    if (
      column.range?.min !== undefined &&
      column.range.max !== undefined &&
      column.range.min > column.range.max
    ) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: 'min is greater than max' });
    }
    if (column.maxMissingFraction !== undefined && !column.nullable) {
      ctx.addIssue({ code: 'custom', path: ['maxMissingFraction'], message: 'needs nullable: true' });
    }
  });

export const DatasetSchema = z
  .object({
    kind: z.literal('lathe.schema'),
    version: z.literal(1),
    rowCount: z
      .object({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
      .strict()
      .optional(),
    /** A column that is not listed here: an error (default), a warning, or nothing. */
    unexpectedColumns: z.enum(['error', 'warn', 'allow']).default('error'),
    columns: z.record(z.string().min(1), ColumnSchema),
  })
  .strict();

export type DatasetSchema = z.output<typeof DatasetSchema>;
export type ColumnSchema = z.output<typeof ColumnSchema>;

/** The most values a text column may have for its domain to be inferred. */
export const MAX_INFERRED_DOMAIN = 20;

export interface InferSchemaOptions {
  /** Infer a domain for text columns with at most this many distinct values (default 20). */
  maxDomainSize?: number;
  /** Infer numeric ranges from the observed min and max (default true). */
  ranges?: boolean;
}

/** A schema that the data the statistics describe satisfies. */
export function inferSchema(stats: DatasetStatistics, options: InferSchemaOptions = {}): DatasetSchema {
  const maxDomain = options.maxDomainSize ?? MAX_INFERRED_DOMAIN;
  // No prototype: a column may be named __proto__ or constructor.
  const columns: Record<string, ColumnSchema> = Object.create(null);
  for (const column of stats.columns) {
    const type: LogicalType = column.logicalType;
    const schema: ColumnSchema = {
      type,
      required: true,
      nullable: column.missing > 0,
      allowNonFinite: false,
      maxOutOfDomainFraction: 0,
    };
    const numeric = column.numeric;
    if (numeric) {
      schema.allowNonFinite = numeric.nan + numeric.positiveInfinity + numeric.negativeInfinity > 0;
      if ((options.ranges ?? true) && numeric.min !== null && numeric.max !== null) {
        schema.range = { min: numeric.min, max: numeric.max };
      }
    }
    const text = column.string;
    // A domain only for columns that look categorical: few values, each seen twice on average.
    if (text && column.distinct > 0 && column.distinct <= maxDomain && column.distinct < column.count / 2) {
      if (text.topValues.length === column.distinct) {
        schema.domain = text.topValues.map((entry) => entry.value).sort();
      }
    }
    columns[column.name] = schema;
  }
  return {
    kind: 'lathe.schema',
    version: 1,
    rowCount: { min: stats.rowCount > 0 ? 1 : 0 },
    unexpectedColumns: 'error',
    columns,
  };
}

/** Readable YAML with the defaults left out, so an edited file shows only what matters. */
export function schemaToYaml(schema: DatasetSchema): string {
  const columns: Record<string, Record<string, unknown>> = {};
  for (const [name, column] of Object.entries(schema.columns)) {
    const out: Record<string, unknown> = { type: column.type };
    if (!column.required) out.required = false;
    if (column.nullable) out.nullable = true;
    if (column.maxMissingFraction !== undefined) out.maxMissingFraction = column.maxMissingFraction;
    if (column.range) out.range = column.range;
    if (column.allowNonFinite) out.allowNonFinite = true;
    if (column.domain) out.domain = column.domain;
    if (column.maxOutOfDomainFraction > 0) out.maxOutOfDomainFraction = column.maxOutOfDomainFraction;
    columns[name] = out;
  }
  const doc: Record<string, unknown> = { kind: schema.kind, version: schema.version };
  if (schema.rowCount) doc.rowCount = schema.rowCount;
  if (schema.unexpectedColumns !== 'error') doc.unexpectedColumns = schema.unexpectedColumns;
  doc.columns = columns;
  const header = [
    '# Lathe dataset schema: edit it and commit it.',
    '# Column fields: type (integer|number|string|boolean|date|timestamp|other), required (default true),',
    '# nullable (default false), maxMissingFraction, range {min, max}, allowNonFinite (default false),',
    '# domain [values], maxOutOfDomainFraction (default 0). Check data: lathe data validate DATA --schema FILE',
  ].join('\n');
  return `${header}\n${stringify(doc, { lineWidth: 0, flowCollectionPadding: false, collectionStyle: 'any' })}`;
}

/** Parses schema YAML; errors name the field and the line. */
export function parseSchema(text: string, path: string): DatasetSchema {
  return parseDataYaml(text, path, DatasetSchema);
}

export function loadSchemaFile(path: string): DatasetSchema {
  return loadDataYamlFile(path, DatasetSchema);
}
