/**
 * `lathe/ml`: machine learning on the embedded defaults. So far: evaluation metrics equal to
 * scikit-learn's (classification, ranking, probabilities, regression, sliced by a column),
 * linear and logistic regression (L2, multinomial), fitted feature transforms that apply the
 * same at training and serving, and the model-validation gate (MLflow's MetricThreshold).
 */

export { modelGate } from './components.js';
export * from './gate.js';
export * from './linear.js';
export * from './metrics.js';
export * from './transforms.js';
