/**
 * The parallel part of gradient boosting: per-node gradient histograms, built by a WebAssembly
 * kernel (gbdt-kernels.wat) on the calling thread and on helper worker threads, all over one
 * shared WebAssembly memory that also holds the binned features, row order and gradients.
 *
 * Work is split by feature (not by row), so every histogram sums the same rows in the same order
 * whatever the number of threads: a model is bit-identical on any machine.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { GBDT_KERNELS_WASM } from './gbdt-wasm.js';

/** Bins per feature: 255 for values and the last one for missing values. */
export const HISTOGRAM_BINS = 256;
/** Each bin holds the sum of gradients, the sum of hessians and the row count (f64 each). */
export const BIN_STRIDE = 3;
/** Float64 entries per feature in a histogram. */
export const FEATURE_STRIDE = HISTOGRAM_BINS * BIN_STRIDE;

const PAGE = 65_536;
const MAX_PAGES = 65_536;

type HistogramKernel = (
  binned: number,
  nRows: number,
  rows: number,
  start: number,
  end: number,
  gradients: number,
  hessians: number,
  histograms: number,
  featureFrom: number,
  featureTo: number,
) => void;

let compiledKernels: WebAssembly.Module | undefined;

/** The compiled kernels (compiled once per process). */
export function kernelsModule(): WebAssembly.Module {
  compiledKernels ??= new WebAssembly.Module(Buffer.from(GBDT_KERNELS_WASM, 'base64'));
  return compiledKernels;
}

type PartitionKernel = (
  binned: number,
  nRows: number,
  rows: number,
  scratch: number,
  start: number,
  end: number,
  feature: number,
  splitBin: number,
  missingLeft: number,
) => number;

function instantiate(memory: WebAssembly.Memory): {
  histograms: HistogramKernel;
  partition: PartitionKernel;
} {
  const instance = new WebAssembly.Instance(kernelsModule(), { env: { memory } });
  return {
    histograms: instance.exports.histograms as HistogramKernel,
    partition: instance.exports.partition as PartitionKernel,
  };
}

/**
 * The shared memory of one training run and typed-array views of its regions. Histograms hold
 * `slots` histograms of every feature.
 */
export class TrainingMemory {
  readonly memory: WebAssembly.Memory;
  readonly histograms: Float64Array;
  readonly rows: Uint32Array;
  readonly gradients: Float32Array;
  readonly hessians: Float32Array;
  /** Bins by column: feature f of row r at f * nRows + r. */
  readonly binned: Uint8Array;
  /** Byte offsets of the regions, for the kernel. */
  readonly at: Record<'histograms' | 'rows' | 'scratch' | 'gradients' | 'hessians' | 'binned', number>;

  constructor(
    readonly nRows: number,
    readonly nFeatures: number,
    slots: number,
  ) {
    const histogramBytes = slots * nFeatures * FEATURE_STRIDE * 8;
    const vectorBytes = nRows * 4;
    let offset = 0;
    const place = (bytes: number) => {
      const at = offset;
      offset += Math.ceil(bytes / 16) * 16;
      return at;
    };
    this.at = {
      histograms: place(histogramBytes),
      rows: place(vectorBytes),
      gradients: place(vectorBytes),
      hessians: place(vectorBytes),
      scratch: place(vectorBytes),
      binned: place(nRows * nFeatures),
    };
    const pages = Math.max(1, Math.ceil(offset / PAGE));
    if (pages > MAX_PAGES) {
      throw new RangeError(
        `training data too large for gradient boosting: ${nRows} rows x ${nFeatures} features need ${(offset / 2 ** 30).toFixed(1)} GiB of working memory, over the 4 GiB a WebAssembly memory can hold; train on a sample of the rows`,
      );
    }
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    const buffer = this.memory.buffer;
    this.histograms = new Float64Array(buffer, this.at.histograms, histogramBytes / 8);
    this.rows = new Uint32Array(buffer, this.at.rows, nRows);
    this.gradients = new Float32Array(buffer, this.at.gradients, nRows);
    this.hessians = new Float32Array(buffer, this.at.hessians, nRows);
    this.binned = new Uint8Array(buffer, this.at.binned, nRows * nFeatures);
  }
}

// ctrl: [job sequence, jobs done, failed flag, workers ready]
const SEQUENCE = 0;
const DONE = 1;
const FAILED = 2;
const READY = 3;
// job: [kind, start, end, gradients, hessians, histograms, (from, to) per worker...]
const JOB_STOP = 0;
const JOB_HISTOGRAMS = 1;
const JOB_HEADER = 6;

/** The worker's program: wait for a job, run the kernel on its feature range, count it done. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctrl, job, index, binned, nRows, rows } = workerData;
let kernel;
try {
  kernel = new WebAssembly.Instance(module, { env: { memory } }).exports.histograms;
} catch (error) {
  Atomics.store(ctrl, ${FAILED}, 1);
}
Atomics.add(ctrl, ${READY}, 1);
Atomics.notify(ctrl, ${READY});
let seen = 0;
while (kernel) {
  Atomics.wait(ctrl, ${SEQUENCE}, seen);
  seen = Atomics.load(ctrl, ${SEQUENCE});
  if (job[0] === ${JOB_STOP}) break;
  try {
    kernel(binned, nRows, rows, job[1], job[2], job[3], job[4], job[5],
      job[${JOB_HEADER} + 2 * index], job[${JOB_HEADER} + 2 * index + 1]);
  } catch (error) {
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

/** Below this many bin updates a node's histograms are built by the calling thread alone. */
const PARALLEL_MIN_UPDATES = 50_000;
/** How long to wait for workers to start before training on one thread. */
const WORKER_START_TIMEOUT_MS = 10_000;

/** Default thread count: the machine's cores, at most 8 (more does not pay for ~20 features). */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Builds histograms on `threads` threads: the calling thread plus `threads - 1` workers that
 * block on `Atomics.wait` between jobs. The calling thread blocks too (training is synchronous).
 */
export class HistogramBuilder {
  private readonly workers: Worker[] = [];
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(16));
  private readonly job: Int32Array;
  private readonly kernel: HistogramKernel;
  private readonly partitionKernel: PartitionKernel;
  private parallel: boolean;
  private started = false;

  constructor(
    private readonly training: TrainingMemory,
    threads: number,
  ) {
    const kernels = instantiate(training.memory);
    this.kernel = kernels.histograms;
    this.partitionKernel = kernels.partition;
    // At least four features per thread: the kernel updates four features per pass.
    // No workers when no node is big enough to share (small data): they would only cost start-up.
    const helpers =
      training.nRows * training.nFeatures < PARALLEL_MIN_UPDATES
        ? 0
        : Math.max(0, Math.min(threads, Math.floor(training.nFeatures / 4)) - 1);
    this.job = new Int32Array(new SharedArrayBuffer(4 * (JOB_HEADER + 2 * helpers)));
    this.parallel = helpers > 0;
    for (let index = 0; index < helpers; index++) {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          module: kernelsModule(),
          memory: training.memory,
          ctrl: this.ctrl,
          job: this.job,
          index,
          binned: training.at.binned,
          nRows: training.nRows,
          rows: training.at.rows,
        },
      });
      // A worker that dies is noticed by the start timeout or the failed flag; this keeps its
      // error from becoming an uncaught exception of the process.
      worker.on('error', () => Atomics.store(this.ctrl, FAILED, 1));
      worker.unref();
      this.workers.push(worker);
    }
  }

  /**
   * Stable partition of the rows at positions [start, end) by a split: the left rows first.
   * Returns the position of the first right row.
   */
  partition(start: number, end: number, feature: number, splitBin: number, missingLeft: boolean): number {
    const t = this.training;
    return this.partitionKernel(
      t.at.binned,
      t.nRows,
      t.at.rows,
      t.at.scratch,
      start,
      end,
      feature,
      splitBin,
      missingLeft ? 1 : 0,
    );
  }

  /**
   * Histograms of every feature for the node at positions [start, end) of the row order, into
   * the histogram slot starting at float64 index `slotOffset`.
   */
  build(start: number, end: number, slotOffset: number): void {
    const t = this.training;
    const nFeatures = t.nFeatures;
    const gradients = t.at.gradients;
    const hessians = t.at.hessians;
    const histograms = t.at.histograms + slotOffset * 8;
    if (!this.parallel || (end - start) * nFeatures < PARALLEL_MIN_UPDATES || !this.ensureStarted()) {
      this.kernel(t.at.binned, t.nRows, t.at.rows, start, end, gradients, hessians, histograms, 0, nFeatures);
      return;
    }
    const parts = this.workers.length + 1;
    const job = this.job;
    job[0] = JOB_HISTOGRAMS;
    job[1] = start;
    job[2] = end;
    job[3] = gradients;
    job[4] = hessians;
    job[5] = histograms;
    // Part 0 is the calling thread's; worker w takes part w + 1.
    const bound = (part: number) => Math.round((part * nFeatures) / parts);
    for (let w = 0; w < this.workers.length; w++) {
      job[JOB_HEADER + 2 * w] = bound(w + 1);
      job[JOB_HEADER + 2 * w + 1] = bound(w + 2);
    }
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.add(this.ctrl, SEQUENCE, 1);
    Atomics.notify(this.ctrl, SEQUENCE);
    this.kernel(t.at.binned, t.nRows, t.at.rows, start, end, gradients, hessians, histograms, 0, bound(1));
    for (;;) {
      const done = Atomics.load(this.ctrl, DONE);
      if (done >= this.workers.length) break;
      Atomics.wait(this.ctrl, DONE, done, 1000);
    }
    if (Atomics.load(this.ctrl, FAILED) === 1) {
      throw new Error('a gradient-boosting worker thread failed while building histograms');
    }
  }

  /** Waits (once) for the workers to start; if they cannot, trains on the calling thread alone. */
  private ensureStarted(): boolean {
    if (this.started) return this.parallel;
    this.started = true;
    const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
    for (;;) {
      const ready = Atomics.load(this.ctrl, READY);
      if (ready >= this.workers.length && Atomics.load(this.ctrl, FAILED) === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.load(this.ctrl, FAILED) === 1) {
        this.close();
        return false;
      }
      Atomics.wait(this.ctrl, READY, ready, Math.min(left, 100));
    }
  }

  /** Stops the workers. Safe to call twice. */
  close(): void {
    this.parallel = false;
    if (this.workers.length === 0) return;
    this.job[0] = JOB_STOP;
    Atomics.add(this.ctrl, SEQUENCE, 1);
    Atomics.notify(this.ctrl, SEQUENCE);
    for (const worker of this.workers) void worker.terminate();
    this.workers.length = 0;
  }
}
