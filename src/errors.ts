/**
 * Errors carry a stable `code`, the structured fields a caller needs (which task, which field),
 * and the underlying `cause`. The CLI prints `message`; tools match on `code`.
 */
export class LatheError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The DSL or a spec describes an invalid pipeline. */
export class PipelineCompileError extends LatheError {
  readonly task: string | undefined;
  readonly field: string | undefined;
  constructor(
    code: string,
    message: string,
    where: { task?: string | undefined; field?: string | undefined } = {},
    options?: { cause?: unknown },
  ) {
    const place = [where.task && `task '${where.task}'`, where.field && `field '${where.field}'`]
      .filter(Boolean)
      .join(', ');
    super(code, place ? `${place}: ${message}` : message, options);
    this.task = where.task;
    this.field = where.field;
  }
}

/** A spec file (YAML/JSON) could not be read or does not match the PipelineSpec schema. */
export class SpecLoadError extends LatheError {
  readonly path: string;
  readonly line: number | undefined;
  constructor(path: string, message: string, line?: number, options?: { cause?: unknown }) {
    super('SPEC_INVALID', `${path}${line ? `:${line}` : ''}: ${message}`, options);
    this.path = path;
    this.line = line;
  }
}

/** A param value failed its schema when a run or task started. */
export class ParamValidationError extends LatheError {
  readonly task: string | undefined;
  readonly param: string;
  constructor(task: string | undefined, param: string, message: string) {
    super('PARAM_INVALID', `${task ? `task '${task}', ` : 'pipeline '}param '${param}': ${message}`);
    this.task = task;
    this.param = param;
  }
}

/** A component could not be found in, or loaded from, the pipeline's source module. */
export class ComponentNotFoundError extends LatheError {
  constructor(component: string, where: string) {
    super('COMPONENT_NOT_FOUND', `component '${component}' is not defined in ${where}`);
  }
}

export class RunNotFoundError extends LatheError {
  constructor(id: string, detail?: string) {
    super('RUN_NOT_FOUND', `no run matches '${id}'${detail ? `: ${detail}` : ''}`);
  }
}

export class ArtifactNotFoundError extends LatheError {
  constructor(id: string, detail?: string) {
    super('ARTIFACT_NOT_FOUND', `no artifact matches '${id}'${detail ? `: ${detail}` : ''}`);
  }
}

/** A task attempt failed. `exitCode` is set for command components. */
export class TaskFailedError extends LatheError {
  readonly exitCode: number | undefined;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number | undefined; code?: string }) {
    super(options?.code ?? 'TASK_FAILED', message, options);
    this.exitCode = options?.exitCode;
  }
}

export class TaskTimeoutError extends TaskFailedError {
  constructor(task: string, timeoutMs: number) {
    super(`task '${task}' timed out after ${timeoutMs} ms`, { code: 'TASK_TIMEOUT' });
  }
}

/** Wrong usage of the CLI: bad flag, missing argument. Exit code 2. */
export class UsageError extends LatheError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
