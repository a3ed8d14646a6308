/**
 * PipelineSpec: the compiled, versioned form of a pipeline. Everything that runs, runs from a spec.
 * The zod schema here is the source of truth; `schema/pipeline-spec.schema.json` is generated from it
 * (`npm run build:schema`), and docs/spec.md explains each field.
 */
import { z } from 'zod';
import {
  ARTIFACT_TYPES,
  COMPARISON_OPS,
  type ComparisonOp,
  FIELD_NAME_PATTERN,
  FIELD_NAME_RULE,
  NAME_PATTERN,
  NAME_RULE,
} from '../dsl/vocabulary.js';

export const SPEC_API_VERSION = 'lathe/v1';

export { ARTIFACT_TYPES, COMPARISON_OPS, type ComparisonOp } from '../dsl/vocabulary.js';
export const ArtifactTypeName = z.enum(ARTIFACT_TYPES);
export type ArtifactTypeName = z.infer<typeof ArtifactTypeName>;

const Name = z.string().regex(NAME_PATTERN, NAME_RULE);
const FieldName = z.string().regex(FIELD_NAME_PATTERN, FIELD_NAME_RULE);

/** A JSON Schema document (draft 2020-12), as produced by zod's toJSONSchema. */
const JsonSchema = z.record(z.string(), z.unknown());

/** Where a value comes from when a task runs. */
export const ValueRef = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('literal'), value: z.unknown() }),
  z.strictObject({ kind: z.literal('param'), name: z.string() }),
  z.strictObject({ kind: z.literal('output'), task: z.string(), output: z.string() }),
  z.strictObject({ kind: z.literal('item'), loop: z.string(), path: z.array(z.string()).optional() }),
  z.strictObject({ kind: z.literal('collect'), task: z.string(), output: z.string() }),
  /** A string with `{{run.id}}`, `{{run.status}}`, `{{run.pipeline}}` or `{{params.NAME}}` placeholders. */
  z.strictObject({ kind: z.literal('template'), template: z.string() }),
]);
export type ValueRef = z.infer<typeof ValueRef>;

export type Condition =
  | { op: ComparisonOp; left: ValueRef; right: ValueRef }
  | { op: 'and' | 'or'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'truthy'; value: ValueRef };

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ op: z.enum(COMPARISON_OPS), left: ValueRef, right: ValueRef }),
    z.strictObject({ op: z.enum(['and', 'or']), args: z.array(Condition).min(1) }),
    z.strictObject({ op: z.literal('not'), arg: Condition }),
    z.strictObject({ op: z.literal('truthy'), value: ValueRef }),
  ]),
);

export const ParamSpec = z.strictObject({
  schema: JsonSchema,
  default: z.unknown().optional(),
  optional: z.boolean().default(false),
  description: z.string().optional(),
});
export type ParamSpec = z.infer<typeof ParamSpec>;

export const InputSpec = z.strictObject({
  type: ArtifactTypeName,
  list: z.boolean().default(false),
  optional: z.boolean().default(false),
});
export type InputSpec = z.infer<typeof InputSpec>;

export const OutputSpec = z.union([
  z.strictObject({ artifact: ArtifactTypeName }),
  z.strictObject({ scalar: JsonSchema }),
]);
export type OutputSpec = z.infer<typeof OutputSpec>;

export const ComponentSpec = z
  .strictObject({
    name: Name,
    kind: z.enum(['ts', 'command']),
    /** Hash of what the component computes: code (or command) plus its declared interface. */
    digest: z.string(),
    description: z.string().optional(),
    params: z.record(FieldName, ParamSpec).default({}),
    inputs: z.record(FieldName, InputSpec).default({}),
    outputs: z.record(FieldName, OutputSpec).default({}),
    /** argv template for command components. */
    command: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** Content hashes of local files a command runs (argv entries naming files, plus declared ones). */
    files: z.record(z.string(), z.string()).optional(),
    /** Run a TS component in a child process instead of the runner's process. */
    isolation: z.enum(['inline', 'process']).default('inline'),
  })
  .superRefine((component, ctx) => {
    if (component.kind === 'command' && !component.command?.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: 'a command component needs a non-empty command',
      });
    }
  });
export type ComponentSpec = z.infer<typeof ComponentSpec>;

export const RetrySpec = z.strictObject({
  attempts: z.number().int().min(1).default(1),
  backoffMs: z.number().min(0).default(1000),
  factor: z.number().min(1).default(2),
  maxBackoffMs: z.number().min(0).default(3_600_000),
});
export type RetrySpec = z.infer<typeof RetrySpec>;
/** One attempt: no retry unless asked for. */
export const DEFAULT_RETRY: RetrySpec = { attempts: 1, backoffMs: 1000, factor: 2, maxBackoffMs: 3_600_000 };

export const ResourcesSpec = z.strictObject({
  cpu: z.number().positive().optional(),
  memory: z.string().optional(),
  gpu: z.number().int().min(0).optional(),
});
export type ResourcesSpec = z.infer<typeof ResourcesSpec>;

export const TaskSpec = z.strictObject({
  name: Name,
  component: z.string(),
  args: z.record(FieldName, ValueRef).default({}),
  inputs: z.record(FieldName, ValueRef).default({}),
  after: z.array(z.string()).default([]),
  when: Condition.optional(),
  /** The innermost parallelFor loop this task belongs to. */
  loop: z.string().optional(),
  retry: RetrySpec.default(() => ({ ...DEFAULT_RETRY })),
  timeoutMs: z.number().int().positive().optional(),
  cache: z.boolean().default(true),
  resources: ResourcesSpec.optional(),
  /** Exit handlers run after every other task has finished, whatever the outcome. */
  exitHandler: z.boolean().default(false),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

export const LoopSpec = z.strictObject({
  name: Name,
  /** A literal list, a pipeline param, or an upstream scalar output holding a list. */
  items: ValueRef,
  /** At most this many of the loop's tasks run at once. */
  parallelism: z.number().int().positive().optional(),
  /** Enclosing loop, for nested fan-out. */
  loop: z.string().optional(),
  when: Condition.optional(),
});
export type LoopSpec = z.infer<typeof LoopSpec>;

export const PipelineSpec = z.strictObject({
  apiVersion: z.literal(SPEC_API_VERSION),
  kind: z.literal('Pipeline'),
  name: Name,
  description: z.string().optional(),
  /** The module that defines the pipeline's TS components, relative to the spec file (or absolute). */
  source: z.string().optional(),
  params: z.record(FieldName, ParamSpec).default({}),
  components: z.record(Name, ComponentSpec),
  tasks: z.array(TaskSpec),
  loops: z.array(LoopSpec).default([]),
});
export type PipelineSpec = z.infer<typeof PipelineSpec>;
export type PipelineSpecInput = z.input<typeof PipelineSpec>;
