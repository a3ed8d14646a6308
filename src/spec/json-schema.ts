import { z } from 'zod';
import { PipelineSpec, SPEC_API_VERSION } from './schema.js';

/** The PipelineSpec as a JSON Schema document (draft 2020-12), for editors and other tools. */
export function pipelineSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(PipelineSpec, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: `https://lathe.dev/schema/pipeline-spec-${SPEC_API_VERSION.replace('/', '-')}.json`,
    title: `Lathe PipelineSpec (${SPEC_API_VERSION})`,
    description: 'A compiled Lathe pipeline. See docs/spec.md.',
  };
}
