/**
 * The DSL's basic vocabulary: artifact types, comparison operators and naming rules. The spec
 * schema builds on these (spec depends on dsl, never the other way round).
 */

export const ARTIFACT_TYPES = [
  'Artifact',
  'Dataset',
  'Model',
  'Metrics',
  'Statistics',
  'Schema',
  'ValidationReport',
  'DriftReport',
] as const;
export type ArtifactTypeName = (typeof ARTIFACT_TYPES)[number];

export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

/**
 * Names of tasks, loops and components: letters, digits, '-', '_' and '.', starting and ending
 * with a letter or digit. Never '[' or ']' (loop iterations are `name[i]`) or '/' (task ids are
 * `run/name`).
 */
export const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
export const NAME_RULE =
  'must be letters, digits, ".", "-" or "_", starting and ending with a letter or digit';

/** Names of params, inputs and outputs: identifiers, also used as file names and in placeholders. */
export const FIELD_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
export const FIELD_NAME_RULE = 'must start with a letter or "_" and contain only letters, digits, "_" or "-"';

/** Resource hints carried into the spec for executors that schedule on a cluster. */
export interface Resources {
  cpu?: number;
  memory?: string;
  gpu?: number;
}
