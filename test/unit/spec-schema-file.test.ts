import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pipelineSpecJsonSchema } from '../../src/spec/json-schema.js';

describe('schema/pipeline-spec.schema.json', () => {
  it('is up to date with the zod schema (run `npm run build:schema` after changing it)', () => {
    const committed = JSON.parse(
      readFileSync(new URL('../../schema/pipeline-spec.schema.json', import.meta.url), 'utf8'),
    );
    expect(committed).toEqual(pipelineSpecJsonSchema());
  });
});
