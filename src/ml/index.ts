/**
 * `lathe/ml`: machine learning on the embedded defaults: evaluation metrics equal to
 * scikit-learn's, linear and logistic regression, histogram gradient-boosted trees, fitted
 * feature transforms that apply the same at training and serving, the model-validation gate
 * (MLflow's MetricThreshold), and Python training steps.
 */

export {
  evaluateChampion,
  evaluator,
  fitFeatureTransform,
  importModel,
  modelGate,
  registerModel,
  selectBest,
  trainer,
} from './components.js';
export { type DatasetRows, readDatasetRows } from './dataset-rows.js';
export { type EvaluateOptions, type Evaluation, evaluateModel } from './evaluate.js';
export * from './gate.js';
export {
  type FeatureColumns,
  type Features,
  fitGbdt,
  type GbdtModel,
  type GbdtOptions,
  type GbdtTree,
} from './gbdt.js';
export { gbdtFeatureImportance, gbdtPredict, gbdtPredictProba, gbdtRawScores } from './gbdt-predict.js';
export * from './linear.js';
export * from './metrics.js';
export * from './model.js';
export { PYTHON_HELPER_DIR, type PythonTrainerOptions, pythonTrainer, toCsv } from './python.js';
export { type MakeClassificationOptions, makeClassification } from './synthetic.js';
export * from './transforms.js';
export * from './tuning.js';
