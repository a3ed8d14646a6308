/**
 * Expectation suites in Great Expectations' vocabulary: the same expectation names and argument
 * names (min_value, strict_min, mostly...), so a GE user can read and write them at once. A
 * suite is YAML (or the same object in TypeScript).
 */
import { z } from 'zod';
import { DataSchemaError } from './data-errors.js';
import { loadDataYamlFile, parseDataYaml } from './yaml-file.js';

const Column = z.string().min(1);
/** The share of values that must meet a per-row expectation (GE's `mostly`). */
const Mostly = z.number().min(0).max(1).default(1);
const Severity = z.enum(['error', 'warning']).default('error');
const Bound = z.union([z.number(), z.string()]).nullable().optional();
const Between = {
  min_value: Bound,
  max_value: Bound,
  strict_min: z.boolean().default(false),
  strict_max: z.boolean().default(false),
};
const Scalar = z.union([z.string(), z.number(), z.boolean()]);

function expectation<N extends string, S extends z.ZodRawShape>(name: N, shape: S) {
  return z.object({ expect: z.literal(name), severity: Severity, ...shape }).strict();
}

export const Expectation = z.discriminatedUnion('expect', [
  expectation('expect_column_to_exist', { column: Column }),
  expectation('expect_column_values_to_not_be_null', { column: Column, mostly: Mostly }),
  expectation('expect_column_values_to_be_unique', { column: Column, mostly: Mostly }),
  expectation('expect_column_values_to_be_between', { column: Column, ...Between, mostly: Mostly }),
  expectation('expect_column_values_to_be_in_set', {
    column: Column,
    value_set: z.array(Scalar).min(1),
    mostly: Mostly,
  }),
  expectation('expect_column_values_to_match_regex', {
    column: Column,
    regex: z.string().min(1),
    mostly: Mostly,
  }),
  expectation('expect_column_value_lengths_to_be_between', {
    column: Column,
    min_value: z.number().int().min(0).nullable().optional(),
    max_value: z.number().int().min(0).nullable().optional(),
    mostly: Mostly,
  }),
  expectation('expect_column_mean_to_be_between', { column: Column, ...Between }),
  expectation('expect_column_median_to_be_between', { column: Column, ...Between }),
  expectation('expect_column_stdev_to_be_between', { column: Column, ...Between }),
  expectation('expect_column_min_to_be_between', { column: Column, ...Between }),
  expectation('expect_column_max_to_be_between', { column: Column, ...Between }),
  expectation('expect_column_quantile_values_to_be_between', {
    column: Column,
    quantile_ranges: z
      .object({
        quantiles: z.array(z.number().min(0).max(1)).min(1),
        value_ranges: z.array(z.tuple([z.number().nullable(), z.number().nullable()])),
      })
      .strict()
      .refine((ranges) => ranges.quantiles.length === ranges.value_ranges.length, {
        message: 'quantiles and value_ranges must have the same length',
      }),
  }),
  expectation('expect_column_distinct_values_to_be_in_set', {
    column: Column,
    value_set: z.array(Scalar).min(1),
  }),
  expectation('expect_table_row_count_to_be_between', {
    min_value: z.number().int().min(0).nullable().optional(),
    max_value: z.number().int().min(0).nullable().optional(),
  }),
  expectation('expect_compound_columns_to_be_unique', {
    column_list: z.array(Column).min(2),
    mostly: Mostly,
  }),
  expectation('expect_column_pair_values_a_to_be_greater_than_b', {
    column_A: Column,
    column_B: Column,
    or_equal: z.boolean().default(false),
    mostly: Mostly,
  }),
]);

export type Expectation = z.output<typeof Expectation>;
export type ExpectationInput = z.input<typeof Expectation>;
export const EXPECTATION_NAMES = Expectation.options.map((option) => option.shape.expect.value);

export const ExpectationSuite = z
  .object({
    kind: z.literal('lathe.expectations'),
    version: z.literal(1),
    expectations: z.array(Expectation),
  })
  .strict();
export type ExpectationSuite = z.output<typeof ExpectationSuite>;

/** Parses suite YAML; errors name the field (e.g. `expectations.3.mostly`) and the line. */
export function parseExpectationSuite(text: string, path: string): ExpectationSuite {
  return parseDataYaml(text, path, ExpectationSuite);
}

export function loadExpectationSuiteFile(path: string): ExpectationSuite {
  return loadDataYamlFile(path, ExpectationSuite);
}

/** Checks a suite given in code (same rules as the YAML form). */
export function expectationSuite(expectations: ExpectationInput[]): ExpectationSuite {
  const parsed = ExpectationSuite.safeParse({ kind: 'lathe.expectations', version: 1, expectations });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DataSchemaError('expectations', `${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
