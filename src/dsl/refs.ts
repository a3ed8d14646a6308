/**
 * Build-time references to values that exist only when a run happens: pipeline params,
 * upstream outputs, loop items, collected fan-in lists. They carry enough to compile to a
 * spec ValueRef, and build conditions with `.eq()`, `.gte()` and friends.
 */

import type { LoopNode, TaskNode } from './graph.js';
import type { ArtifactTypeName, ComparisonOp } from './vocabulary.js';

export type RefTarget =
  | { kind: 'param'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'output'; task: TaskNode; output: string; artifact: ArtifactTypeName | undefined }
  | { kind: 'item'; loop: LoopNode; path: string[] }
  | { kind: 'loopOutput'; task: TaskNode; output: string; artifact: ArtifactTypeName | undefined };

const REF_BRAND = Symbol.for('lathe.ref');
const CONDITION_BRAND = Symbol.for('lathe.condition');
const COLLECT_BRAND = Symbol.for('lathe.collect');

export type Operand<T = unknown> = T | Ref<T>;

/** A value known when the run happens. `T` is the value's type, for editor help. */
export class Ref<T = unknown> {
  readonly [REF_BRAND] = true;
  /** @internal */
  declare readonly __type?: T;
  constructor(readonly target: RefTarget) {}

  eq(other: Operand<T>): Condition {
    return compare('eq', this, other);
  }
  ne(other: Operand<T>): Condition {
    return compare('ne', this, other);
  }
  lt(other: Operand<T>): Condition {
    return compare('lt', this, other);
  }
  lte(other: Operand<T>): Condition {
    return compare('lte', this, other);
  }
  gt(other: Operand<T>): Condition {
    return compare('gt', this, other);
  }
  gte(other: Operand<T>): Condition {
    return compare('gte', this, other);
  }
  /** The field of an object-valued ref (a loop item that is an object). */
  get<K extends keyof T & string>(key: K): Ref<T[K]> {
    if (this.target.kind !== 'item') {
      throw new TypeError(`.get('${key}') is only available on parallelFor items`);
    }
    return new Ref<T[K]>({ ...this.target, path: [...this.target.path, key] });
  }
}

export type ConditionNode =
  | { op: ComparisonOp; left: Ref; right: Ref }
  | { op: 'and' | 'or'; args: Condition[] }
  | { op: 'not'; arg: Condition }
  | { op: 'truthy'; value: Ref };

export class Condition {
  readonly [CONDITION_BRAND] = true;
  constructor(readonly node: ConditionNode) {}
  and(other: Condition | Ref<boolean>): Condition {
    return new Condition({ op: 'and', args: [this, toCondition(other)] });
  }
  or(other: Condition | Ref<boolean>): Condition {
    return new Condition({ op: 'or', args: [this, toCondition(other)] });
  }
  not(): Condition {
    return new Condition({ op: 'not', arg: this });
  }
}

/** A fan-in: every iteration's value of a loop body's output, in item order. */
export class Collected<T = unknown> {
  readonly [COLLECT_BRAND] = true;
  declare readonly __type?: T[];
  constructor(
    readonly task: TaskNode,
    readonly output: string,
    readonly artifact: ArtifactTypeName | undefined,
  ) {}
}

export function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && REF_BRAND in value;
}
export function isCondition(value: unknown): value is Condition {
  return typeof value === 'object' && value !== null && CONDITION_BRAND in value;
}
export function isCollected(value: unknown): value is Collected {
  return typeof value === 'object' && value !== null && COLLECT_BRAND in value;
}

export function literal<T>(value: T): Ref<T> {
  return new Ref<T>({ kind: 'literal', value });
}

function compare(op: ComparisonOp, left: Ref, right: unknown): Condition {
  return new Condition({ op, left, right: isRef(right) ? right : literal(right) });
}

export function toCondition(value: Condition | Ref<boolean> | Ref): Condition {
  if (isCondition(value)) return value;
  if (isRef(value)) return new Condition({ op: 'truthy', value });
  throw new TypeError('a condition must be built from a ref, e.g. task.outputs.accuracy.gte(0.9)');
}

export function not(condition: Condition | Ref<boolean>): Condition {
  return toCondition(condition).not();
}

/**
 * Gathers a loop body's output across all iterations: scalars become a list param,
 * artifacts a list input (declare it as `Model.list()`).
 */
export function collect<T>(ref: Ref<T>): Collected<T> {
  if (!isRef(ref) || ref.target.kind !== 'loopOutput') {
    throw new TypeError(
      'collect() takes an output of a parallelFor body, e.g. collect(trials.outputs.score)',
    );
  }
  return new Collected<T>(ref.target.task, ref.target.output, ref.target.artifact);
}
