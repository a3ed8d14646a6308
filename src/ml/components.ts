/**
 * Built-in pipeline components of `lathe/ml`. Their names start with `ml.`.
 */
import { z } from 'zod';
import { Metrics } from '../dsl/artifacts.js';
import { component } from '../dsl/component.js';
import { type MetricThreshold, validateCandidate } from './gate.js';

const Threshold = z
  .object({
    threshold: z.number().optional(),
    minAbsoluteChange: z.number().min(0).optional(),
    minRelativeChange: z.number().min(0).max(1).optional(),
    greaterIsBetter: z.boolean().default(true),
  })
  .strict();

/** Reads a Metrics artifact's named numbers (nested values are left out). */
async function numbersOf(artifact: {
  readJson<T>(): Promise<T>;
  name: string;
}): Promise<Record<string, number>> {
  const value = await artifact.readJson<unknown>();
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`input '${artifact.name}' is not a JSON object of named numbers`);
  }
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).filter(
      (entry): entry is [string, number] => typeof entry[1] === 'number',
    ),
  );
}

export const modelGate = component({
  name: 'ml.gate',
  description:
    "Model-validation gate (MLflow's MetricThreshold): the candidate's metrics against thresholds and a baseline's metrics.",
  inputs: { candidate: Metrics, baseline: Metrics.optional() },
  params: { thresholds: z.record(z.string(), Threshold) },
  outputs: { report: Metrics, passed: z.boolean() },
  async run({ inputs, params, outputs, log }) {
    const candidate = await numbersOf(inputs.candidate);
    const baseline = inputs.baseline ? await numbersOf(inputs.baseline) : undefined;
    const result = validateCandidate(
      candidate,
      params.thresholds as Record<string, MetricThreshold>,
      baseline,
    );
    await outputs.report.writeJson(result);
    for (const check of result.checks)
      (check.passed ? log : log.warn)(`${check.passed ? 'pass' : 'FAIL'}: ${check.reason}`);
    return { passed: result.passed };
  },
});
