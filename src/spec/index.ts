/** The PipelineSpec format: schema, compile (DSL -> spec), load (YAML/JSON -> spec), digest. */

export { canonicalJson, digestOf } from './canonical.js';
export { compilePipeline, componentSpec, specDigest } from './compile.js';
export { loadSpecFile, parseSpec, specToJson, specToYaml } from './load.js';
export * from './schema.js';
export { validateSpec } from './validate.js';
