/**
 * The Open Inference Protocol v2 codec of `lathe serve` (src/serve/oip.ts): request tensors to
 * rows (every refusal is an InferenceError with a 4xx status and a message naming the problem),
 * predictions to response tensors, and model metadata; on small models trained for the purpose.
 */
import { describe, expect, it } from 'vitest';
import type { Label } from '../../src/ml/metrics.js';
import { type LatheModel, loadModel, trainModel } from '../../src/ml/model.js';
import { InferenceError, modelMetadata, requestRows, responseTensors } from '../../src/serve/oip.js';

/** Rows with a number, a text and a boolean input, and labels of several kinds. */
const rows = Array.from({ length: 40 }, (_, i) => ({
  x: i,
  color: i % 3 === 0 ? 'red' : 'blue',
  flag: i % 2 === 0,
  text: i < 20 ? 'low' : 'high',
  int: i < 20 ? 0 : 1,
  float: i < 20 ? 0.5 : 1.5,
  value: 2 * i + 1,
}));
const features = ['x', 'color', 'flag'];
const train = (label: string, task: 'classification' | 'regression', drop: string[]): LatheModel =>
  trainModel(
    rows.map((row) => {
      const copy: Record<string, unknown> = { ...row };
      for (const column of drop) delete copy[column];
      return copy as Record<string, number | string | boolean>;
    }),
    {
      label,
      task,
      features,
      ...(task === 'regression'
        ? { algorithm: 'linear_regression' as const, estimator: { l2: 0.01 } }
        : { estimator: { iterations: 5, minSamplesLeaf: 2 } }),
    },
  );
const textModel = train('text', 'classification', ['int', 'float', 'value']);
const intModel = train('int', 'classification', ['text', 'float', 'value']);
const floatModel = train('float', 'classification', ['text', 'int', 'value']);
const regression = train('value', 'regression', ['text', 'int', 'float']);

const tensor = (name: string, datatype: string, data: unknown[], shape: number[] = [data.length]) => ({
  name,
  datatype,
  shape,
  data,
});
/** A valid request for the three inputs, `n` rows. */
function inputs(n = 2) {
  const index = Array.from({ length: n }, (_, i) => i);
  return [
    tensor(
      'x',
      'FP64',
      index.map((i) => i * 10),
    ),
    tensor(
      'color',
      'BYTES',
      index.map((i) => (i % 2 ? 'red' : 'blue')),
    ),
    tensor(
      'flag',
      'BOOL',
      index.map((i) => i % 2 === 0),
    ),
  ];
}

/** The InferenceError `fn` throws (fails when it throws nothing or something else). */
function refusal(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error('expected an InferenceError, got none');
}

function expectRefused(body: unknown, message: RegExp | string, model: LatheModel = textModel): void {
  const error = refusal(() => requestRows(body, model));
  expect(error.status).toBe(400);
  if (typeof message === 'string') expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
}

const replace = (name: string, by: unknown) => inputs().map((t) => (t.name === name ? by : t));

describe('requestRows: refusals', () => {
  it('refuses a body that is not an object', () => {
    for (const body of [null, 3, 'text', true, [], [{ inputs: [] }]]) {
      expectRefused(body, 'the request body must be a JSON object with "inputs"');
    }
  });

  it('refuses missing, empty or non-array inputs', () => {
    for (const body of [{}, { inputs: [] }, { inputs: {} }, { inputs: 'x' }, { inputs: null }]) {
      expectRefused(body, '"inputs" must be a non-empty array of tensors');
    }
  });

  it('refuses a tensor that is not an object or has no name', () => {
    expectRefused({ inputs: [null] }, 'inputs[0] must be an object');
    expectRefused({ inputs: [...inputs(), 7] }, 'inputs[3] must be an object');
    expectRefused({ inputs: [{ datatype: 'FP64', shape: [1], data: [1] }] }, 'inputs[0] has no "name"');
    expectRefused(
      { inputs: [{ name: 3, datatype: 'FP64', shape: [1], data: [1] }] },
      'inputs[0] has no "name"',
    );
  });

  it("refuses an unknown tensor name, listing the model's inputs", () => {
    expectRefused(
      { inputs: [...inputs(), tensor('colour', 'BYTES', ['red', 'blue'])] },
      "unknown input tensor 'colour' (the model's inputs: x, color, flag)",
    );
    // The label is not an input.
    expectRefused({ inputs: [tensor('text', 'BYTES', ['low'])] }, "unknown input tensor 'text'");
  });

  it('refuses a tensor given twice', () => {
    expectRefused({ inputs: [...inputs(), tensor('x', 'FP64', [1, 2])] }, "input tensor 'x' is given twice");
  });

  it('refuses a missing datatype', () => {
    expectRefused(
      { inputs: replace('x', { name: 'x', shape: [2], data: [1, 2] }) },
      `input 'x' has no "datatype"`,
    );
    expectRefused(
      { inputs: replace('x', { name: 'x', datatype: 7, shape: [2], data: [1, 2] }) },
      `input 'x' has no "datatype"`,
    );
  });

  it('refuses a datatype that does not fit the input type', () => {
    // Text input: only BYTES.
    for (const datatype of ['FP64', 'FP32', 'INT64', 'BOOL', 'bytes']) {
      expectRefused(
        { inputs: replace('color', tensor('color', datatype, ['red', 'blue'])) },
        `input 'color' has datatype ${datatype}; the model reads string values (BYTES)`,
      );
    }
    // Number input: any numeric datatype, not BYTES or BOOL.
    for (const datatype of ['BYTES', 'BOOL', 'STRING', 'fp64']) {
      expectRefused(
        { inputs: replace('x', tensor('x', datatype, [1, 2])) },
        `input 'x' has datatype ${datatype}; the model reads number values (FP32, FP64 or INT*)`,
      );
    }
    // Boolean input: only BOOL.
    for (const datatype of ['INT8', 'BYTES', 'FP64']) {
      expectRefused(
        { inputs: replace('flag', tensor('flag', datatype, [true, false])) },
        `input 'flag' has datatype ${datatype}; the model reads boolean values (BOOL)`,
      );
    }
  });

  it('accepts every numeric datatype for a number input', () => {
    for (const datatype of ['FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT64']) {
      const { rows: got } = requestRows({ inputs: replace('x', tensor('x', datatype, [1, 2])) }, textModel);
      expect(got.map((r) => r.x)).toEqual([1, 2]);
    }
  });

  it('refuses bad shapes', () => {
    const shaped = (shape: unknown) => ({
      inputs: replace('x', { name: 'x', datatype: 'FP64', shape, data: [1, 2] }),
    });
    expectRefused(shaped([2, 2]), "input 'x' has shape [2, 2]; expected [n] or [n, 1]");
    expectRefused(shaped([1, 2]), "input 'x' has shape [1, 2]; expected [n] or [n, 1]");
    expectRefused(shaped([]), "input 'x' has shape []; expected [n] or [n, 1]");
    expectRefused(shaped([2, 1, 1]), "input 'x' has shape [2, 1, 1]; expected [n] or [n, 1]");
    for (const shape of [[-2], [2, -1], [1.5], ['2'], [null], undefined, 2, '[2]', {}]) {
      expectRefused(shaped(shape), `input 'x' needs "shape": a list of sizes`);
    }
  });

  it('refuses data that is not an array or does not match the shape', () => {
    expectRefused(
      { inputs: replace('x', { name: 'x', datatype: 'FP64', shape: [2] }) },
      `input 'x' needs "data": an array`,
    );
    expectRefused(
      { inputs: replace('x', { name: 'x', datatype: 'FP64', shape: [2], data: 5 }) },
      `input 'x' needs "data": an array`,
    );
    expectRefused(
      { inputs: replace('x', tensor('x', 'FP64', [1, 2, 3], [2])) },
      "input 'x' has 3 values but its shape says 2",
    );
    expectRefused(
      { inputs: replace('x', tensor('x', 'FP64', [1], [2])) },
      "input 'x' has 1 values but its shape says 2",
    );
    // [n, 1] with n values nested two deep is fine; with the wrong count it is not.
    expectRefused(
      { inputs: replace('x', tensor('x', 'FP64', [[1], [2], [3]], [2, 1])) },
      "input 'x' has 3 values but its shape says 2",
    );
  });

  it('refuses values of the wrong type, naming the position', () => {
    expectRefused(
      { inputs: replace('x', tensor('x', 'FP64', [1, '2'])) },
      `input 'x'[1]: "2" is not a FP64 value`,
    );
    expectRefused(
      { inputs: replace('x', tensor('x', 'INT64', [true, 2])) },
      `input 'x'[0]: true is not a FP64 value`,
    );
    expectRefused(
      { inputs: replace('color', tensor('color', 'BYTES', ['red', 3])) },
      `input 'color'[1]: 3 is not a BYTES value`,
    );
    expectRefused(
      { inputs: replace('flag', tensor('flag', 'BOOL', [1, 0])) },
      `input 'flag'[0]: 1 is not a BOOL value`,
    );
    expectRefused(
      { inputs: replace('x', tensor('x', 'FP64', [{ v: 1 }, 2])) },
      `input 'x'[0]: {"v":1} is not a FP64 value`,
    );
  });

  it('refuses tensors of different lengths', () => {
    expectRefused(
      {
        inputs: [
          tensor('x', 'FP64', [1, 2, 3]),
          tensor('color', 'BYTES', ['a']),
          tensor('flag', 'BOOL', [true]),
        ],
      },
      "input tensors differ in length: 'color' has 1, others 3",
    );
  });

  it('lists every missing input', () => {
    expectRefused({ inputs: [tensor('color', 'BYTES', ['red'])] }, 'missing input tensors: x, flag');
    expectRefused({ inputs: inputs().slice(0, 2) }, 'missing input tensors: flag');
  });

  it('refuses malformed outputs', () => {
    expectRefused({ inputs: inputs(), outputs: 'label' }, '"outputs" must be an array');
    expectRefused({ inputs: inputs(), outputs: [{ name: 'label' }, {}] }, 'outputs[1] has no "name"');
    expectRefused({ inputs: inputs(), outputs: [null] }, 'outputs[0] has no "name"');
    expectRefused({ inputs: inputs(), outputs: ['label'] }, 'outputs[0] has no "name"');
  });

  it('refuses data nested deeper than its shape, even very deep, with a 400', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expectRefused(
      { inputs: replace('x', { name: 'x', datatype: 'FP64', shape: [1], data: deep }) },
      /input 'x'/,
    );
    expectRefused(
      { inputs: replace('x', { name: 'x', datatype: 'FP64', shape: [2, 1], data: [[[1]], [[2]]] }) },
      /input 'x'/,
    );
  });
});

describe('requestRows: rows', () => {
  it('turns tensors into rows, in the order of the rows', () => {
    const parsed = requestRows({ inputs: inputs(3) }, textModel);
    expect(parsed).toEqual({
      rows: [
        { x: 0, color: 'blue', flag: true },
        { x: 10, color: 'red', flag: false },
        { x: 20, color: 'blue', flag: true },
      ],
    });
  });

  it('reads null as a missing value of any type', () => {
    const { rows: got } = requestRows(
      {
        inputs: [
          tensor('x', 'FP32', [null, 1]),
          tensor('color', 'BYTES', ['red', null]),
          tensor('flag', 'BOOL', [null, null]),
        ],
      },
      textModel,
    );
    expect(got).toEqual([
      { x: null, color: 'red', flag: null },
      { x: 1, color: null, flag: null },
    ]);
    // The model predicts them (the trees route missing values).
    expect(loadModel(textModel).predict(got)).toHaveLength(2);
  });

  it('flattens nested data of shape [n, 1]', () => {
    const { rows: got } = requestRows(
      {
        inputs: [
          tensor('x', 'FP64', [[1], [2]], [2, 1]),
          tensor('color', 'BYTES', [['red'], ['blue']], [2, 1]),
          tensor('flag', 'BOOL', [true, false], [2, 1]),
        ],
      },
      textModel,
    );
    expect(got).toEqual([
      { x: 1, color: 'red', flag: true },
      { x: 2, color: 'blue', flag: false },
    ]);
  });

  it('echoes a string id and reads the outputs asked for', () => {
    const parsed = requestRows(
      {
        id: 'req-1',
        inputs: inputs(1),
        outputs: [{ name: 'probabilities' }, { name: 'label', parameters: {} }],
      },
      textModel,
    );
    expect(parsed.id).toBe('req-1');
    expect(parsed.outputs).toEqual(['probabilities', 'label']);
    // A non-string id is not echoed.
    expect(requestRows({ id: 7, inputs: inputs(1) }, textModel)).not.toHaveProperty('id');
  });

  it('ignores tensor order and extra fields (parameters)', () => {
    const reversed = [...inputs(2)].reverse().map((t) => ({ ...t, parameters: { content_type: 'x' } }));
    expect(requestRows({ inputs: reversed, parameters: {} }, textModel).rows).toEqual(
      requestRows({ inputs: inputs(2) }, textModel).rows,
    );
  });
});

describe('responseTensors', () => {
  const predictions = (model: LatheModel, n = 3) => {
    const got = requestRows({ inputs: inputs(n) }, model).rows;
    const predictor = loadModel(model);
    return {
      labels: predictor.predict(got),
      probabilities: model.task === 'regression' ? null : predictor.predictProba(got),
    };
  };

  it('gives labels and [n, k] probabilities for a classifier, labels as BYTES for text classes', () => {
    expect(textModel.classes).toEqual(['high', 'low']);
    const { labels, probabilities } = predictions(textModel);
    const out = responseTensors(textModel, labels, probabilities);
    expect(out).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [3], data: labels },
      { name: 'probabilities', datatype: 'FP64', shape: [3, 2], data: probabilities!.flat() },
    ]);
    for (const p of probabilities!) expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
  });

  it('types labels INT64 for integer classes and FP64 for fractional ones', () => {
    expect(intModel.classes).toEqual([0, 1]);
    expect(floatModel.classes).toEqual([0.5, 1.5]);
    const int = predictions(intModel);
    expect(responseTensors(intModel, int.labels, int.probabilities)[0]).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [3],
      data: int.labels,
    });
    const float = predictions(floatModel);
    const [label] = responseTensors(floatModel, float.labels, float.probabilities);
    expect(label!.datatype).toBe('FP64');
    for (const v of label!.data) expect([0.5, 1.5]).toContain(v);
  });

  it('gives a prediction tensor for regression', () => {
    const { labels } = predictions(regression, 4);
    const out = responseTensors(regression, labels, null);
    expect(out).toEqual([{ name: 'prediction', datatype: 'FP64', shape: [4], data: labels }]);
    expect(out[0]!.data.every((v) => typeof v === 'number')).toBe(true);
  });

  it('keeps only the outputs asked for, in the order asked', () => {
    const { labels, probabilities } = predictions(textModel, 2);
    expect(responseTensors(textModel, labels, probabilities, ['probabilities']).map((t) => t.name)).toEqual([
      'probabilities',
    ]);
    expect(
      responseTensors(textModel, labels, probabilities, ['probabilities', 'label']).map((t) => t.name),
    ).toEqual(['probabilities', 'label']);
    expect(responseTensors(regression, [1.5] as Label[], null, ['prediction'])).toHaveLength(1);
  });

  it('refuses an unknown output, listing the model outputs', () => {
    const { labels, probabilities } = predictions(textModel, 1);
    const error = refusal(() => responseTensors(textModel, labels, probabilities, ['prediction']));
    expect(error.status).toBe(400);
    expect(error.message).toBe("unknown output 'prediction' (the model's outputs: label, probabilities)");
    const other = refusal(() => responseTensors(regression, [1] as Label[], null, ['label']));
    expect(other.message).toBe("unknown output 'label' (the model's outputs: prediction)");
  });
});

describe('modelMetadata', () => {
  it('describes a classifier: inputs with their datatypes, label and probabilities', () => {
    expect(modelMetadata('colors', 3, textModel)).toEqual({
      name: 'colors',
      versions: ['3'],
      platform: 'lathe',
      inputs: [
        { name: 'x', datatype: 'FP64', shape: [-1] },
        { name: 'color', datatype: 'BYTES', shape: [-1] },
        { name: 'flag', datatype: 'BOOL', shape: [-1] },
      ],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP64', shape: [-1, 2] },
      ],
      parameters: { algorithm: 'gbdt', task: 'binary', label: 'text', classes: ['high', 'low'] },
    });
    expect(modelMetadata('ints', 1, intModel).outputs[0]).toEqual({
      name: 'label',
      datatype: 'INT64',
      shape: [-1],
    });
  });

  it('describes a regression model: one prediction output', () => {
    const metadata = modelMetadata('values', 1, regression);
    expect(metadata.outputs).toEqual([{ name: 'prediction', datatype: 'FP64', shape: [-1] }]);
    expect(metadata.parameters).toEqual({
      algorithm: 'linear_regression',
      task: 'regression',
      label: 'value',
      classes: null,
    });
    // The metadata is JSON as it is.
    expect(JSON.parse(JSON.stringify(metadata))).toEqual(metadata);
  });
});
