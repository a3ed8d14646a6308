/**
 * Lathe: typed, cached, resumable machine-learning pipelines in TypeScript.
 *
 * @example
 * ```ts
 * import { component, pipeline, when, Dataset, Metrics, z } from 'lathe';
 *
 * const makeData = component({
 *   name: 'make-data',
 *   params: { rows: z.number().int().positive().default(100) },
 *   outputs: { data: Dataset },
 *   async run({ params, outputs }) {
 *     await outputs.data.writeText(Array.from({ length: params.rows }, (_, i) => `${i}`).join('\n'));
 *   },
 * });
 * const score = component({
 *   name: 'score',
 *   inputs: { data: Dataset },
 *   outputs: { metrics: Metrics, accuracy: z.number() },
 *   async run({ inputs, outputs }) {
 *     const rows = (await inputs.data.readText()).split('\n').length;
 *     await outputs.metrics.writeJson({ rows });
 *     return { accuracy: rows > 50 ? 0.9 : 0.5 };
 *   },
 * });
 * export default pipeline({ name: 'example', params: { rows: z.number().int().default(100) } }, ({ params }) => {
 *   const data = makeData({ rows: params.rows });
 *   const scored = score({ data: data.outputs.data });
 *   when(scored.outputs.accuracy.gte(0.8), () => score({ data: data.outputs.data }).named('rescore'));
 * });
 * ```
 * Run it with `npx lathe run pipeline.ts`. Stores, executors and the engine are behind the
 * subpath exports `lathe/engine`, `lathe/store` and `lathe/spec`.
 */
export { z } from 'zod';
export type { ArtifactListType, ArtifactType, InputArtifact, OutputArtifact } from './dsl/artifacts.js';
export {
  Artifact,
  Dataset,
  DriftReport,
  Metrics,
  Model,
  Schema,
  Statistics,
  ValidationReport,
} from './dsl/artifacts.js';
export type {
  CommandComponentOptions,
  Component,
  RunContext,
  TaskLogger,
  TsComponentOptions,
} from './dsl/component.js';
export { component, TaskHandle } from './dsl/component.js';
export type { RetryOptions } from './dsl/graph.js';
export type { LoopHandle, ParallelForOptions, Pipeline, WhenChain } from './dsl/pipeline.js';
export { onExit, parallelFor, pipeline, when } from './dsl/pipeline.js';
export { Condition, collect, not, Ref } from './dsl/refs.js';
export * from './errors.js';
