/**
 * Terminal output of a run. Logs stream with the task name as a prefix. On a TTY a live
 * status line shows done/total and the running tasks; otherwise each event is a plain line.
 */
import type { RunReporter, RunSummary, TaskEndInfo } from '../engine/ports.js';

const COLORS = { red: 31, green: 32, yellow: 33, blue: 34, gray: 90, cyan: 36 } as const;

export interface ReporterOptions {
  out: NodeJS.WriteStream;
  tty: boolean;
  color: boolean;
  /** Quiet: only the final summary (used with --json, where the summary goes to stdout). */
  quiet: boolean;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms % 60_000) / 1000)}s`;
}

export class TerminalReporter implements RunReporter {
  private total = 0;
  private done = 0;
  private readonly running = new Set<string>();
  private statusShown = false;
  private renderTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReporterOptions) {}

  private paint(color: keyof typeof COLORS, text: string): string {
    return this.options.color ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text;
  }

  private line(text: string): void {
    if (this.options.quiet) return;
    this.clearStatus();
    this.options.out.write(`${text}\n`);
    this.scheduleStatus();
  }

  runStarted(run: { id: string; pipeline: string; resumed: boolean }): void {
    this.line(
      `${this.paint('blue', run.resumed ? 'resuming' : 'run')} ${run.id} ${this.paint('gray', `(${run.pipeline})`)}`,
    );
  }

  tasksKnown(total: number): void {
    this.total = total;
    this.scheduleStatus();
  }

  taskStarted(task: string, attempt: number): void {
    this.running.add(task);
    if (!this.options.tty)
      this.line(`${this.paint('gray', '•')} ${task} started${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
    else this.scheduleStatus();
  }

  taskRetrying(task: string, attempt: number, delayMs: number, error: string): void {
    this.line(
      `${this.paint('yellow', '↻')} ${task}: ${error}; attempt ${attempt} in ${formatDuration(delayMs)}`,
    );
  }

  taskEnded(task: string, info: TaskEndInfo): void {
    this.running.delete(task);
    this.done++;
    switch (info.status) {
      case 'succeeded':
        this.line(
          `${this.paint('green', '✓')} ${task} ${this.paint('gray', formatDuration(info.durationMs))}`,
        );
        break;
      case 'cached':
        this.line(`${this.paint('cyan', '≡')} ${task} ${this.paint('gray', 'cached')}`);
        break;
      case 'skipped':
        this.line(
          `${this.paint('gray', '↷')} ${task} ${this.paint('gray', `skipped: ${info.reason ?? ''}`)}`,
        );
        break;
      case 'failed':
        this.line(
          `${this.paint('red', '✗')} ${task} failed${info.attempts > 1 ? ` after ${info.attempts} attempts` : ''}: ${info.error ?? ''}`,
        );
        break;
      default:
        break;
    }
  }

  log(task: string, stream: 'stdout' | 'stderr' | 'log', line: string): void {
    const prefix = this.paint(stream === 'stderr' ? 'yellow' : 'gray', `[${task}]`);
    this.line(`${prefix} ${line}`);
  }

  runEnded(summary: RunSummary): void {
    if (this.renderTimer) clearTimeout(this.renderTimer);
    this.clearStatus();
    if (this.options.quiet) return;
    const counts = Object.entries(summary.counts)
      .filter(([, n]) => n > 0)
      .map(([status, n]) => `${n} ${status}`)
      .join(', ');
    const color = summary.status === 'succeeded' ? 'green' : 'red';
    this.options.out.write(
      `${this.paint(color, `run ${summary.status}`)} in ${formatDuration(summary.durationMs)}: ${counts || 'no tasks'}  ${this.paint('gray', summary.runId)}\n`,
    );
    if (summary.status === 'succeeded') return;
    // Every failure, not just the first: a fan-out can fail in many places at once.
    const failed = summary.tasks.filter((t) => t.status === 'failed');
    for (const task of failed.slice(0, 10)) {
      this.options.out.write(
        `${this.paint('red', `  ✗ ${task.name}`)}: ${(task.error ?? 'failed').split('\n')[0]}\n`,
      );
    }
    if (failed.length > 10) this.options.out.write(`  … and ${failed.length - 10} more failed tasks\n`);
    if (failed.length === 0 && summary.error) this.options.out.write(`${this.paint('red', summary.error)}\n`);
  }

  // A TTY status line, redrawn at most every 100 ms so that thousands of tasks stay cheap. It is
  // drawn right away when due: an in-process task may keep the event loop busy, so a timer alone
  // could leave the line stale for the whole task.
  private lastRender = 0;
  private scheduleStatus(): void {
    if (!this.options.tty || this.options.quiet || this.total === 0) return;
    const now = Date.now();
    if (now - this.lastRender >= 100) {
      this.renderStatus();
      return;
    }
    if (this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.renderStatus();
    }, 100);
    this.renderTimer.unref();
  }

  private renderStatus(): void {
    this.lastRender = Date.now();
    this.clearStatus();
    const names = [...this.running];
    const shown = names.slice(0, 4).join(', ') + (names.length > 4 ? ` +${names.length - 4}` : '');
    // Pseudo-terminals may report 0 columns: then assume a common width.
    const columns = this.options.out.columns;
    const width = columns && columns >= 20 ? columns : 100;
    const text = `[${this.done}/${this.total}] ${names.length ? `running: ${shown}` : ''}`.slice(
      0,
      width - 1,
    );
    this.options.out.write(this.paint('blue', text));
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.options.out.write('\r\x1b[K');
      this.statusShown = false;
    }
  }
}
