/**
 * `lathe/ml`: machine learning on the embedded defaults. So far: evaluation metrics equal to
 * scikit-learn's (classification, ranking, probabilities, regression, sliced by a column).
 */
export * from './metrics.js';
