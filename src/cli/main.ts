#!/usr/bin/env node
/** The `lathe` command line. */
import { LatheError, UsageError } from '../errors.js';
import { type CommandSpec, commandHelp, parseCommand } from './args.js';
import {
  dataDriftCommand,
  dataSchemaInferCommand,
  dataStatsCommand,
  dataValidateCommand,
} from './data-commands.js';
import { lineageCommand, logsCommand, runsListCommand, runsShowCommand } from './inspect-commands.js';
import { MODEL_COMMANDS } from './model-commands.js';
import { compileCommand, resumeCommand, runCommand } from './run-commands.js';
import { serveCommand } from './serve-command.js';
import { runsCompareCommand } from './tracking-commands.js';

const COMMANDS: CommandSpec[] = [
  runCommand,
  compileCommand,
  runsListCommand,
  runsShowCommand,
  runsCompareCommand,
  logsCommand,
  resumeCommand,
  lineageCommand,
  dataStatsCommand,
  dataSchemaInferCommand,
  dataValidateCommand,
  dataDriftCommand,
  ...MODEL_COMMANDS,
  serveCommand,
];

function mainHelp(): string {
  const rows = COMMANDS.map(
    (c) => `  ${`${c.name} ${c.args}`.padEnd(34)} ${c.summary.split('. ')[0]!.replace(/\.$/, '')}`,
  );
  return [
    'Usage: lathe <command> [options]',
    '',
    'Lathe runs typed, cached, resumable machine-learning pipelines written in TypeScript.',
    '',
    'Commands:',
    ...rows,
    '',
    "Run 'lathe <command> --help' for a command's options.",
    '',
  ].join('\n');
}

function findCommand(argv: string[]): { command: CommandSpec; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.name.split(' ');
    if (words.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(mainHelp());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    const { createRequire } = await import('node:module');
    const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const found = findCommand(argv);
  // `lathe runs --help`, `lathe models --help`, `lathe data --help`: the commands of that group.
  if (!found && ['runs', 'models', 'data'].includes(argv[0]!) && (argv[1] === '--help' || argv[1] === '-h')) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `));
    const rows = group.map(
      (c) => `  ${`${c.name} ${c.args}`.padEnd(34)} ${c.summary.split('. ')[0]!.replace(/\.$/, '')}`,
    );
    process.stdout.write(
      `Usage: lathe ${argv[0]} <command> [options]\n\nCommands:\n${rows.join('\n')}\n\nRun 'lathe ${argv[0]} <command> --help' for a command's options.\n`,
    );
    return 0;
  }
  if (!found) {
    if (argv[0] === 'runs') {
      process.stderr.write(`lathe runs: expected 'list', 'show' or 'compare'\n\n${mainHelp()}`);
      return 2;
    }
    if (argv[0] === 'models') {
      process.stderr.write(
        `lathe models: expected 'list', 'show', 'register', 'promote' or 'rollback'\n\n${mainHelp()}`,
      );
      return 2;
    }
    if (argv[0] === 'data') {
      const sub =
        argv[1] === 'schema'
          ? "lathe data schema: expected 'infer'"
          : "lathe data: expected 'stats', 'schema infer', 'validate' or 'drift'";
      process.stderr.write(`${sub}\n\n${mainHelp()}`);
      return 2;
    }
    process.stderr.write(`lathe: unknown command '${argv[0]}'\n\n${mainHelp()}`);
    return 2;
  }
  const parsed = parseCommand(found.command, found.rest);
  if (parsed.values.help) {
    process.stdout.write(commandHelp(found.command));
    return 0;
  }
  return found.command.handler(parsed);
}

const FILE_SYSTEM_CODES = new Set([
  'ENOENT',
  'EEXIST',
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
]);

function isFileSystemError(error: unknown): boolean {
  return error instanceof Error && FILE_SYSTEM_CODES.has((error as NodeJS.ErrnoException).code ?? '');
}

// A closed pipe (`lathe runs show RUN | head`) is not an error: stop writing, and let a run go on.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
    throw error;
  });
}

const argv = process.argv.slice(2);

main(argv).then(
  (code) => {
    // Exit once the output is written: timers a component left behind (it ignored its abort
    // signal) must not keep the command alive after the run is over.
    process.exitCode = code;
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    let code = 'INTERNAL';
    let message: string;
    if (error instanceof UsageError) {
      code = error.code;
      message = error.message;
      process.stderr.write(`${message}\n`);
      process.exitCode = 2;
    } else if (isFileSystemError(error)) {
      // A path the user gave does not work (missing directory, a file where a directory should be).
      code = (error as NodeJS.ErrnoException).code ?? 'FILE_SYSTEM';
      message = (error as Error).message;
      process.stderr.write(`error: ${message}\n`);
      process.exitCode = 2;
    } else if (error instanceof LatheError) {
      code = error.code;
      message = error.message;
      process.stderr.write(`error [${error.code}]: ${message}\n`);
      if (process.env.LATHE_DEBUG && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 2;
    } else {
      message = String((error as Error)?.message ?? error);
      process.stderr.write(`error: ${(error as Error)?.stack ?? error}\n`);
      process.exitCode = 1;
    }
    // Scripts that asked for JSON get the error as JSON too (first line of a usage message).
    if (argv.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ error: { code, message: message.split('\n')[0] } })}\n`);
    }
    const exitCode = Number(process.exitCode);
    process.stdout.write('', () => process.exit(exitCode));
  },
);
