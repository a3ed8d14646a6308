/**
 * Writes schema/pipeline-spec.schema.json from the zod schema in src/spec/schema.ts.
 * The file is committed; test/unit/spec-schema-file.test.ts fails when it is out of date.
 *   npm run build:schema
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pipelineSpecJsonSchema } from '../src/spec/json-schema.js';

const target = fileURLToPath(new URL('../schema/pipeline-spec.schema.json', import.meta.url));
writeFileSync(target, `${JSON.stringify(pipelineSpecJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${target}\n`);
