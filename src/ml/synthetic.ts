/**
 * Seeded synthetic datasets. `makeClassification` is a port of the algorithm of scikit-learn
 * 1.2.1's `sklearn.datasets.make_classification` (not of its random stream: the same seed does not
 * give scikit-learn's numbers, but the same distribution):
 *
 * 1. `classes × clustersPerClass` clusters, samples split among them as scikit-learn does
 *    (`floor(samples / classes / clustersPerClass)` each, the remainder one by one from cluster 0);
 *    cluster `k` belongs to class `k % classes`.
 * 2. Centroids: distinct random vertices of the `informative`-dimensional hypercube with side
 *    `2·classSep` (coordinates ±classSep).
 * 3. Informative features: standard normals, multiplied per cluster by a random matrix
 *    `A = 2·U(0,1) − 1` (`informative × informative`, random covariance), plus the centroid.
 * 4. `redundant` features: `X_informative · B` with `B = 2·U(0,1) − 1` (`informative × redundant`),
 *    exact linear combinations of the informative features.
 * 5. `repeated` features: copies of informative / redundant features drawn at random (with
 *    replacement, scikit-learn's index rule).
 * 6. The remaining features are N(0, 1) noise.
 * 7. A fraction `flipY` of the labels is replaced by a uniformly random class (so about
 *    `flipY·(1 − 1/classes)` of them change).
 * 8. `X = (X + shift) · scale` (scalars; default 0 and 1, i.e. nothing).
 * 9. Rows and columns are shuffled (unless `shuffle: false`).
 *
 * Row shuffling is done by drawing a uniformly random order of the cluster assignments up front
 * and generating each row from its cluster, which is equal in distribution to scikit-learn's
 * generate-then-permute (noise and label flips are i.i.d. per row) and avoids a gather pass over
 * every column. The column permutation is also drawn up front, so `flipY` changes only the labels:
 * the same seed with a different `flipY` gives byte-identical features.
 *
 * Output is column-major (one `Float64Array` per feature) so a million rows × 20 features is cheap
 * to make (well under a second) and to hand to column-wise trainers.
 *
 * Random numbers: xoshiro128** seeded through splitmix32 from the (safe-integer) seed; uniforms with
 * 53 random bits, normals by Doornik's ZIGNOR ziggurat. Same seed and options give
 * the same bytes.
 */

export interface MakeClassificationOptions {
  /** Number of rows (integer ≥ 1). */
  samples: number;
  /** Total number of features (integer ≥ 1). Default 20. */
  features?: number;
  /** Informative features (integer ≥ 1). Default 2. */
  informative?: number;
  /** Redundant features: random linear combinations of the informative ones. Default 2. */
  redundant?: number;
  /** Repeated features: copies of informative or redundant ones. Default 0. */
  repeated?: number;
  /** Number of classes (integer ≥ 2). Default 2. */
  classes?: number;
  /** Clusters per class (integer ≥ 1); `classes × clustersPerClass ≤ 2^informative`. Default 2. */
  clustersPerClass?: number;
  /** Fraction of labels replaced by a random class, in [0, 1]. Default 0.01. */
  flipY?: number;
  /** Half the side of the hypercube whose vertices are the centroids (finite, ≥ 0). Default 1. */
  classSep?: number;
  /** Added to every feature (finite). Default 0. */
  shift?: number;
  /** Multiplies every feature after the shift (finite). Default 1. */
  scale?: number;
  /** Shuffle rows and columns. Default true. */
  shuffle?: boolean;
  /** Seed (safe integer). Default 0. */
  seed?: number;
}

export interface SyntheticClassification {
  /** One array per feature, each of length `samples`. */
  columns: Float64Array[];
  /** Class of each row, in [0, classes). */
  labels: Int32Array;
  /** `x0`, `x1`, … in column order. */
  featureNames: string[];
}

/** xoshiro128** (Blackman & Vigna), 32-bit state words, seeded with splitmix32. */
class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    let a = (lo ^ Math.imul(hi ^ 0x5bd1e995, 0x27d4eb2d)) | 0;
    const next = (): number => {
      a = (a + 0x9e3779b9) | 0;
      let z = a;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform unsigned 32-bit integer. */
  uint32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9);
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 = s1 ^ this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result >>> 0;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float(): number {
    return ((this.uint32() >>> 5) * 67108864 + (this.uint32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n), n ≤ 2^32 (rejection-free multiply; bias < n / 2^53). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /**
   * Fills `out` with standard normals: Doornik's ZIGNOR ziggurat (128 blocks) on a 57-bit signed
   * uniform and an independent 7-bit block index, with the generator inlined for the fast path
   * (about 98.8% of draws).
   */
  fillNormal(out: Float64Array): void {
    const { x: zx, r: zr } = zigguratTables();
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    const length = out.length;
    for (let k = 0; k < length; k++) {
      // Two xoshiro128** outputs.
      let x = Math.imul(s1, 5);
      const a = Math.imul((x << 7) | (x >>> 25), 9);
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      x = Math.imul(s1, 5);
      const b = Math.imul((x << 7) | (x >>> 25), 9);
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const u = (a * 33554432 + (b >>> 7)) * 1.3877787807814457e-17; // [-1, 1), 2^-56
      const i = b & 127;
      if (Math.abs(u) < zr[i]!) {
        out[k] = u * zx[i]!;
      } else {
        this.s0 = s0;
        this.s1 = s1;
        this.s2 = s2;
        this.s3 = s3;
        out[k] = this.normalSlow(u, i);
        s0 = this.s0;
        s1 = this.s1;
        s2 = this.s2;
        s3 = this.s3;
      }
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** The ziggurat's rejection path for a first draw (u, i) that missed the rectangles. */
  private normalSlow(u: number, i: number): number {
    const { x: zx, r: zr } = zigguratTables();
    for (;;) {
      if (Math.abs(u) < zr[i]!) return u * zx[i]!;
      if (i === 0) {
        // Tail beyond R (Marsaglia's method).
        let x: number;
        let y: number;
        do {
          x = Math.log(1 - this.float()) / ZIG_R;
          y = Math.log(1 - this.float());
        } while (-2 * y < x * x);
        return u < 0 ? x - ZIG_R : ZIG_R - x;
      }
      const x = u * zx[i]!;
      const f0 = Math.exp(-0.5 * (zx[i]! * zx[i]! - x * x));
      const f1 = Math.exp(-0.5 * (zx[i + 1]! * zx[i + 1]! - x * x));
      if (f1 + this.float() * (f0 - f1) < 1) return x;
      u = 2 * this.float() - 1;
      i = this.uint32() & 127;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle(a: Int32Array): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}

const ZIG_R = 3.442619855899;
const ZIG_V = 9.91256303526217e-3;
let zigguratCache: { x: Float64Array; r: Float64Array } | undefined;

/** Doornik (2005) ZIGNOR tables: block edges x[0..128] and ratios r[i] = x[i+1] / x[i]. */
function zigguratTables(): { x: Float64Array; r: Float64Array } {
  if (zigguratCache) return zigguratCache;
  const x = new Float64Array(129);
  const r = new Float64Array(128);
  let f = Math.exp(-0.5 * ZIG_R * ZIG_R);
  x[0] = ZIG_V / f;
  x[1] = ZIG_R;
  x[128] = 0;
  for (let i = 2; i < 128; i++) {
    x[i] = Math.sqrt(-2 * Math.log(ZIG_V / x[i - 1]! + f));
    f = Math.exp(-0.5 * x[i]! * x[i]!);
  }
  for (let i = 0; i < 128; i++) r[i] = x[i + 1]! / x[i]!;
  zigguratCache = { x, r };
  return zigguratCache;
}

function integerOption(name: string, value: number | undefined, fallback: number, min: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new RangeError(`makeClassification: ${name} must be an integer ≥ ${min}, got ${String(v)}`);
  }
  return v;
}

function finiteOption(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`makeClassification: ${name} must be a finite number, got ${String(v)}`);
  }
  return v;
}

/**
 * `count` distinct vertices of the `dims`-dimensional unit hypercube ({0,1}^dims), row-major
 * (`count × dims`). Like scikit-learn: distinct in the last min(dims, 30) coordinates, the others
 * random bits.
 */
function hypercubeVertices(count: number, dims: number, rng: Rng): Uint8Array {
  const out = new Uint8Array(count * dims);
  const low = Math.min(dims, 30);
  const range = 2 ** low;
  const codes = new Int32Array(count);
  if (range <= 4 * count) {
    // Partial Fisher–Yates over all codes.
    const all = new Int32Array(range);
    for (let i = 0; i < range; i++) all[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(range - i);
      const t = all[j]!;
      all[j] = all[i]!;
      all[i] = t;
      codes[i] = t;
    }
  } else {
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      let c = rng.int(range);
      while (seen.has(c)) c = rng.int(range);
      seen.add(c);
      codes[i] = c;
    }
  }
  for (let k = 0; k < count; k++) {
    const row = k * dims;
    for (let d = 0; d < dims - low; d++) out[row + d] = rng.uint32() & 1;
    const code = codes[k]!;
    for (let b = 0; b < low; b++) out[row + dims - 1 - b] = (code >>> b) & 1;
  }
  return out;
}

// Hot loops live in small functions so they are optimized on their own.

/**
 * x_row = z_row · A_k + centroid_k for every row, z_row ~ N(0, I) drawn fresh and k = cluster[row];
 * `mixing` holds the row-major A_k back to back. Rows are visited cluster by cluster (z is i.i.d.,
 * so the order of draws does not matter) so each block is a dense product with one A_k, then
 * scattered to its rows.
 */
function mixInformative(
  informative: readonly Float64Array[],
  cluster: Int32Array,
  nClusters: number,
  centroids: Float64Array,
  mixing: Float64Array,
  rng: Rng,
): void {
  const ni = informative.length;
  const n = cluster.length;
  // Rows grouped by cluster (counting sort).
  const offsets = new Int32Array(nClusters + 1);
  for (let r = 0; r < n; r++) offsets[cluster[r]! + 1]! += 1;
  for (let k = 0; k < nClusters; k++) offsets[k + 1]! += offsets[k]!;
  const next = offsets.slice(0, nClusters);
  const order = new Int32Array(n);
  for (let r = 0; r < n; r++) order[next[cluster[r]!]!++] = r;

  const block = 1024;
  const z = new Float64Array(ni * block);
  const out = new Float64Array(block);
  for (let k = 0; k < nClusters; k++) {
    const a = k * ni * ni;
    for (let start = offsets[k]!; start < offsets[k + 1]!; start += block) {
      const len = Math.min(block, offsets[k + 1]! - start);
      rng.fillNormal(z.subarray(0, ni * len));
      const rows = order.subarray(start, start + len);
      for (let j = 0; j < ni; j++) {
        out.fill(centroids[k * ni + j]!, 0, len);
        let i = 0;
        for (; i + 4 <= ni; i += 4) {
          const w = a + i * ni + j;
          addScaled4(
            out,
            z,
            i * len,
            len,
            mixing[w]!,
            mixing[w + ni]!,
            mixing[w + 2 * ni]!,
            mixing[w + 3 * ni]!,
          );
        }
        for (; i < ni; i++) addScaledAt(out, z, i * len, len, mixing[a + i * ni + j]!);
        scatter(informative[j]!, rows, out);
      }
    }
  }
}

/** out[r] += src[offset + r] · w for r < len. */
function addScaledAt(out: Float64Array, src: Float64Array, offset: number, len: number, w: number): void {
  for (let r = 0; r < len; r++) out[r]! += src[offset + r]! * w;
}

/** out[r] += Σ_q src[offset + q·len + r] · w_q for q < 4, r < len. */
function addScaled4(
  out: Float64Array,
  src: Float64Array,
  offset: number,
  len: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
): void {
  const o1 = offset + len;
  const o2 = o1 + len;
  const o3 = o2 + len;
  for (let r = 0; r < len; r++) {
    out[r]! += src[offset + r]! * w0 + src[o1 + r]! * w1 + src[o2 + r]! * w2 + src[o3 + r]! * w3;
  }
}

/** target[rows[r]] = values[r] for r < rows.length. */
function scatter(target: Float64Array, rows: Int32Array, values: Float64Array): void {
  for (let r = 0; r < rows.length; r++) target[rows[r]!] = values[r]!;
}

function addScaled(out: Float64Array, src: Float64Array, w: number): void {
  for (let r = 0; r < out.length; r++) out[r]! += src[r]! * w;
}

function shiftScale(col: Float64Array, shift: number, scale: number): void {
  for (let r = 0; r < col.length; r++) col[r] = (col[r]! + shift) * scale;
}

function flipLabels(labels: Int32Array, flipY: number, classes: number, rng: Rng): void {
  for (let r = 0; r < labels.length; r++) {
    if (rng.float() < flipY) labels[r] = rng.int(classes);
  }
}

/**
 * A random classification problem like scikit-learn's `make_classification`, column-major.
 * Throws a `RangeError` naming the option for invalid options (as scikit-learn: informative +
 * redundant + repeated ≤ features, classes × clustersPerClass ≤ 2^informative).
 */
export function makeClassification(options: MakeClassificationOptions): SyntheticClassification {
  if (options === null || typeof options !== 'object') {
    throw new RangeError('makeClassification: options must be an object with at least { samples }');
  }
  const n = integerOption('samples', options.samples, Number.NaN, 1);
  const features = integerOption('features', options.features, 20, 1);
  const ni = integerOption('informative', options.informative, 2, 1);
  const nr = integerOption('redundant', options.redundant, 2, 0);
  const nrep = integerOption('repeated', options.repeated, 0, 0);
  const classes = integerOption('classes', options.classes, 2, 2);
  const perClass = integerOption('clustersPerClass', options.clustersPerClass, 2, 1);
  const flipY = finiteOption('flipY', options.flipY, 0.01);
  const classSep = finiteOption('classSep', options.classSep, 1);
  const shift = finiteOption('shift', options.shift, 0);
  const scale = finiteOption('scale', options.scale, 1);
  const seed = options.seed ?? 0;
  const shuffle = options.shuffle ?? true;
  if (flipY < 0 || flipY > 1)
    throw new RangeError(`makeClassification: flipY must be in [0, 1], got ${flipY}`);
  if (classSep < 0) throw new RangeError(`makeClassification: classSep must be ≥ 0, got ${classSep}`);
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new RangeError(`makeClassification: seed must be a safe integer, got ${String(seed)}`);
  }
  if (typeof shuffle !== 'boolean') {
    throw new RangeError(`makeClassification: shuffle must be a boolean, got ${String(shuffle)}`);
  }
  if (ni + nr + nrep > features) {
    throw new RangeError(
      `makeClassification: informative (${ni}) + redundant (${nr}) + repeated (${nrep}) must be ≤ features (${features})`,
    );
  }
  // log2 avoids overflowing 2 ** informative.
  if (ni < Math.log2(classes * perClass)) {
    throw new RangeError(
      `makeClassification: classes (${classes}) × clustersPerClass (${perClass}) must be ≤ 2^informative (2^${ni})`,
    );
  }

  const rng = new Rng(seed);
  const nClusters = classes * perClass;

  // Samples per cluster, exactly as scikit-learn (equal weights).
  const perCluster = new Array<number>(nClusters);
  let assigned = 0;
  for (let k = 0; k < nClusters; k++) {
    perCluster[k] = Math.trunc((n * (1 / classes)) / perClass);
    assigned += perCluster[k]!;
  }
  for (let i = 0; i < n - assigned; i++) perCluster[i % nClusters]! += 1;

  // Cluster of each row: scikit-learn's order, then (when shuffling) a uniformly random order.
  const cluster = new Int32Array(n);
  for (let k = 0, r = 0; k < nClusters; k++) {
    for (let c = 0; c < perCluster[k]!; c++) cluster[r++] = k;
  }
  if (shuffle) rng.shuffle(cluster);
  const columnOrder = new Int32Array(features);
  for (let j = 0; j < features; j++) columnOrder[j] = j;
  if (shuffle) rng.shuffle(columnOrder);

  // Centroids: hypercube vertices scaled to ±classSep.
  const vertices = hypercubeVertices(nClusters, ni, rng);
  const centroids = new Float64Array(nClusters * ni);
  for (let i = 0; i < centroids.length; i++) centroids[i] = vertices[i]! * 2 * classSep - classSep;

  // Random covariance per cluster: A_k = 2·U − 1, row-major (informative × informative).
  const mixing = new Float64Array(nClusters * ni * ni);
  for (let i = 0; i < mixing.length; i++) mixing[i] = 2 * rng.float() - 1;

  const cols: Float64Array[] = [];
  for (let j = 0; j < features; j++) cols.push(new Float64Array(n));
  const labels = new Int32Array(n);

  // Informative features: x_row = z · A_k + centroid_k with z ~ N(0, I).
  const informative = cols.slice(0, ni);
  mixInformative(informative, cluster, nClusters, centroids, mixing, rng);
  for (let r = 0; r < n; r++) labels[r] = cluster[r]! % classes;

  // Redundant features: X_informative · B, B = 2·U − 1 (informative × redundant).
  if (nr > 0) {
    const b = new Float64Array(ni * nr);
    for (let i = 0; i < b.length; i++) b[i] = 2 * rng.float() - 1;
    for (let j = 0; j < nr; j++) {
      const out = cols[ni + j]!;
      for (let i = 0; i < ni; i++) {
        const w = b[i * nr + j]!;
        addScaled(out, informative[i]!, w);
      }
    }
  }

  // Repeated features: copies, index = floor((ni + nr − 1)·U + 0.5) as scikit-learn.
  for (let j = 0; j < nrep; j++) {
    const index = Math.trunc((ni + nr - 1) * rng.float() + 0.5);
    cols[ni + nr + j]!.set(cols[index]!);
  }

  // Noise.
  for (let j = ni + nr + nrep; j < features; j++) rng.fillNormal(cols[j]!);

  // Label noise.
  if (flipY > 0) flipLabels(labels, flipY, classes, rng);

  if (shift !== 0 || scale !== 1) {
    for (const col of cols) shiftScale(col, shift, scale);
  }

  const columns = Array.from(columnOrder, (j) => cols[j]!);
  return { columns, labels, featureNames: columns.map((_, j) => `x${j}`) };
}
