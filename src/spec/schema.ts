/**
 * PipelineSpec: the compiled, versioned form of a pipeline. Everything that runs, runs from a spec.
 * The zod schema here is the source of truth; `schema/pipeline-spec.schema.json` is generated from it
 * (`npm run build:schema`), and docs/spec.md explains each field.
 */
import { z } from 'zod';

export const SPEC_API_VERSION = 'lathe/v1';

export const ARTIFACT_TYPES = ['Artifact', 'Dataset', 'Model', 'Metrics'] as const;
export const ArtifactTypeName = z.enum(ARTIFACT_TYPES);
export type ArtifactTypeName = z.infer<typeof ArtifactTypeName>;

/** A JSON Schema document (draft 2020-12), as produced by zod's toJSONSchema. */
const JsonSchema = z.record(z.string(), z.unknown());

/** Where a value comes from when a task runs. */
export const ValueRef = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('literal'), value: z.unknown() }),
  z.object({ kind: z.literal('param'), name: z.string() }),
  z.object({ kind: z.literal('output'), task: z.string(), output: z.string() }),
  z.object({ kind: z.literal('item'), loop: z.string(), path: z.array(z.string()).optional() }),
  z.object({ kind: z.literal('collect'), task: z.string(), output: z.string() }),
  /** A string with `{{run.id}}`, `{{run.status}}`, `{{run.pipeline}}` or `{{params.NAME}}` placeholders. */
  z.object({ kind: z.literal('template'), template: z.string() }),
]);
export type ValueRef = z.infer<typeof ValueRef>;

export const COMPARISON_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte'] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

export type Condition =
  | { op: ComparisonOp; left: ValueRef; right: ValueRef }
  | { op: 'and' | 'or'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'truthy'; value: ValueRef };

export const Condition: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.object({ op: z.enum(COMPARISON_OPS), left: ValueRef, right: ValueRef }),
    z.object({ op: z.enum(['and', 'or']), args: z.array(Condition).min(1) }),
    z.object({ op: z.literal('not'), arg: Condition }),
    z.object({ op: z.literal('truthy'), value: ValueRef }),
  ]),
);

export const ParamSpec = z.object({
  schema: JsonSchema,
  default: z.unknown().optional(),
  optional: z.boolean().default(false),
  description: z.string().optional(),
});
export type ParamSpec = z.infer<typeof ParamSpec>;

export const InputSpec = z.object({
  type: ArtifactTypeName,
  list: z.boolean().default(false),
  optional: z.boolean().default(false),
});
export type InputSpec = z.infer<typeof InputSpec>;

export const OutputSpec = z.union([
  z.object({ artifact: ArtifactTypeName }),
  z.object({ scalar: JsonSchema }),
]);
export type OutputSpec = z.infer<typeof OutputSpec>;

export const ComponentSpec = z.object({
  name: z.string().min(1),
  kind: z.enum(['ts', 'command']),
  /** Hash of what the component computes: code (or command) plus its declared interface. */
  digest: z.string(),
  description: z.string().optional(),
  params: z.record(z.string(), ParamSpec).default({}),
  inputs: z.record(z.string(), InputSpec).default({}),
  outputs: z.record(z.string(), OutputSpec).default({}),
  /** argv template for command components. */
  command: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  /** Content hashes of local files a command runs (argv entries naming files, plus declared ones). */
  files: z.record(z.string(), z.string()).optional(),
  /** Run a TS component in a child process instead of the runner's process. */
  isolation: z.enum(['inline', 'process']).default('inline'),
});
export type ComponentSpec = z.infer<typeof ComponentSpec>;

export const RetrySpec = z.object({
  attempts: z.number().int().min(1).default(1),
  backoffMs: z.number().min(0).default(1000),
  factor: z.number().min(1).default(2),
  maxBackoffMs: z.number().min(0).default(3_600_000),
});
export type RetrySpec = z.infer<typeof RetrySpec>;

export const ResourcesSpec = z.object({
  cpu: z.number().positive().optional(),
  memory: z.string().optional(),
  gpu: z.number().int().min(0).optional(),
});
export type ResourcesSpec = z.infer<typeof ResourcesSpec>;

export const TaskSpec = z.object({
  name: z.string().min(1),
  component: z.string(),
  args: z.record(z.string(), ValueRef).default({}),
  inputs: z.record(z.string(), ValueRef).default({}),
  after: z.array(z.string()).default([]),
  when: Condition.optional(),
  /** The innermost parallelFor loop this task belongs to. */
  loop: z.string().optional(),
  retry: RetrySpec.default({ attempts: 1, backoffMs: 1000, factor: 2, maxBackoffMs: 3_600_000 }),
  timeoutMs: z.number().int().positive().optional(),
  cache: z.boolean().default(true),
  resources: ResourcesSpec.optional(),
  /** Exit handlers run after every other task has finished, whatever the outcome. */
  exitHandler: z.boolean().default(false),
});
export type TaskSpec = z.infer<typeof TaskSpec>;

export const LoopSpec = z.object({
  name: z.string().min(1),
  /** A literal list, a pipeline param, or an upstream scalar output holding a list. */
  items: ValueRef,
  /** At most this many of the loop's tasks run at once. */
  parallelism: z.number().int().positive().optional(),
  /** Enclosing loop, for nested fan-out. */
  loop: z.string().optional(),
  when: Condition.optional(),
});
export type LoopSpec = z.infer<typeof LoopSpec>;

export const PipelineSpec = z.object({
  apiVersion: z.literal(SPEC_API_VERSION),
  kind: z.literal('Pipeline'),
  name: z.string().min(1),
  description: z.string().optional(),
  /** The module that defines the pipeline's TS components, relative to the spec file (or absolute). */
  source: z.string().optional(),
  params: z.record(z.string(), ParamSpec).default({}),
  components: z.record(z.string(), ComponentSpec),
  tasks: z.array(TaskSpec),
  loops: z.array(LoopSpec).default([]),
});
export type PipelineSpec = z.infer<typeof PipelineSpec>;
export type PipelineSpecInput = z.input<typeof PipelineSpec>;
