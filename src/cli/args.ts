/** A small command table over node:util parseArgs: every command gets `--help` and clear errors. */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  placeholder?: string;
}

export interface CommandSpec {
  /** e.g. 'runs list' */
  name: string;
  /** e.g. '<run> [task]' */
  args: string;
  summary: string;
  details?: string;
  options: Record<string, OptionSpec>;
  minArgs: number;
  maxArgs: number;
  /** The command works on files, not on a workspace: no --home. */
  noWorkspace?: boolean;
  handler(ctx: { args: string[]; values: Record<string, any> }): Promise<number>;
}

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  home: {
    type: 'string',
    description: 'workspace directory (default: ./.lathe or $LATHE_HOME)',
    placeholder: 'dir',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

function optionsOf(command: CommandSpec): Record<string, OptionSpec> {
  const { home, ...rest } = COMMON_OPTIONS;
  return { ...command.options, ...(command.noWorkspace ? rest : { home: home!, ...rest }) };
}

export function commandHelp(command: CommandSpec): string {
  const options = optionsOf(command);
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.placeholder ?? 'value'}>` : ''}`;
    return `  ${flag.padEnd(30)} ${o.description}${o.multiple ? ' (repeatable)' : ''}`;
  });
  return [
    `Usage: lathe ${command.name}${command.args ? ` ${command.args}` : ''} [options]`,
    '',
    command.summary,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...rows,
    '',
  ].join('\n');
}

/** node:util's messages, in this CLI's words (its own hints assume a different style of use). */
function describeParseError(error: NodeJS.ErrnoException): string {
  const option = /'(-[^' ]*)/.exec(error.message)?.[1];
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // A value that starts with '-' (a negative number) must be attached: --limit=-1.
      return /ambiguous/.test(error.message)
        ? `option '${option}' needs a value; for a value starting with '-', write ${option}=VALUE`
        : `option '${option}' needs a value`;
    default:
      return error.message.split('\n')[0] ?? String(error);
  }
}

export function parseCommand(
  command: CommandSpec,
  argv: string[],
): { args: string[]; values: Record<string, any> } {
  const options = optionsOf(command);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(options).map(([name, o]) => [
          name,
          { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      `lathe ${command.name}: ${describeParseError(error as NodeJS.ErrnoException)}\n\n${commandHelp(command)}`,
    );
  }
  const values = parsed.values as Record<string, any>;
  if (!values.help) {
    if (parsed.positionals.length < command.minArgs) {
      throw new UsageError(
        `lathe ${command.name}: missing argument ${command.args}\n\n${commandHelp(command)}`,
      );
    }
    if (parsed.positionals.length > command.maxArgs) {
      throw new UsageError(
        `lathe ${command.name}: unexpected argument '${parsed.positionals[command.maxArgs]}'\n\n${commandHelp(command)}`,
      );
    }
  }
  return { args: parsed.positionals, values };
}
