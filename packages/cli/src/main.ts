import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Aegis, AegisPlugin } from '@aegis/core';
import type { CommandContext, GlobalOptions, InstanceOptions } from './context.js';
import { KNOWN_PLUGINS } from './known-plugins.js';
import { RedactingWriter } from './output.js';
import { CLI_VERSION } from './version.js';

// Only commander and the small output module are loaded up front: each command
// (and @aegis/core with it) is imported when that command runs, so `aegis --help`
// and usage errors stay fast.

/** The streams the CLI reads and writes; the process's own by default. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** Passed on to `createAegis`, for tests and for programs that embed the CLI. */
export interface MainOptions {
  plugins?: AegisPlugin[];
  /** false: do not look for plugin packages among the application's dependencies. */
  discover?: boolean;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

type Runner = (ctx: CommandContext, ...args: any[]) => Promise<number>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Runs the `aegis` command line. `argv` is in the shape of `process.argv`
 * (node, script, then the arguments). Returns the exit code; never exits the
 * process and never throws.
 */
export async function main(argv: readonly string[] = process.argv, io: Partial<CliIo> = {}, options: MainOptions = {}): Promise<number> {
  const streams: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, ...io };
  // Every byte printed goes through the instance's secret scrubber, once there is an instance, then is made terminal-safe.
  let aegis: Aegis | undefined;
  // Instances made by `freshAegis` (aegis serve's reload): what is printed is scrubbed with the newest one's secrets.
  const others: Aegis[] = [];
  const scrubber = () => (others.at(-1) ?? aegis)?.secrets;
  const out = new RedactingWriter(streams.stdout, scrubber);
  const err = new RedactingWriter(streams.stderr, scrubber);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let verbose = false;
  let exitCode = 0;

  const contextFor = (globals: GlobalOptions): CommandContext => ({
    out,
    err,
    stdin: streams.stdin,
    cwd,
    env,
    verbose,
    async aegis(instance?: InstanceOptions) {
      aegis ??= await newAegis(globals, instance);
      return aegis;
    },
    async freshAegis(instance?: InstanceOptions) {
      const fresh = await newAegis(globals, instance);
      others.push(fresh);
      return fresh;
    },
  });

  const newAegis = async (globals: GlobalOptions, instance: InstanceOptions = {}): Promise<Aegis> => {
    const { createAegis, ConsoleLogger, parseLogLevel } = await import('@aegis/core');
    const level = globals.verbose ? 'debug' : parseLogLevel(env.AEGIS_LOG_LEVEL, 'warn');
    return createAegis({
      configPath: globals.config,
      envFile: globals.dotenv,
      cwd,
      env,
      plugins: options.plugins,
      discover: options.discover,
      knownPlugins: KNOWN_PLUGINS,
      httpDefaults: instance.httpDefaults,
      // Core's log lines go to the CLI's stderr writer, so they are scrubbed like everything else.
      logger: new ConsoleLogger(level, { write: (line) => err.line(line), prefix: 'aegis:' }),
    });
  };

  /** An action that imports its command module only when it runs. */
  const action =
    (load: () => Promise<{ run: Runner }>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      verbose = globals.verbose === true;
      // The packages ship bundled: with their maps, a stack trace names the shipped dist/ modules the bundles were built from.
      if (verbose) process.setSourceMapsEnabled(true);
      const { run } = await load();
      // commander passes: the positional arguments, the command's options, the command.
      exitCode = await run(contextFor(globals), ...args.slice(0, -2), command.opts());
    };

  const program = new Command('aegis')
    .description('Use and check the AI backend profiles of backends.yaml')
    .version(CLI_VERSION, '-V, --version', 'print the version')
    .option('--config <path>', 'backends.yaml to use (default: $AEGIS_BACKENDS, else ./backends.yaml)')
    .option('--dotenv <path>', 'env file to read (default: $AEGIS_ENV_FILE, else the .env beside backends.yaml)')
    // Refused, never used: see ENV_FILE_REFUSED. Hidden, so no one is taught to write it.
    .addOption(new Option('--env-file <path>').hideHelp())
    .option('--verbose', 'print stack traces of errors and debug logs')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => out.write(text),
      writeErr: (text) => err.write(text),
      outputError: (text, write) => write(`aegis: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(run with --help for usage)')
    .helpCommand(true)
    // As soon as it is parsed, wherever it is (before or after the command, or with no command at all).
    .on('option:env-file', () => {
      throw new Error(ENV_FILE_REFUSED);
    });

  program
    .command('plugins')
    .description('list the installed provider plugins, their types and capabilities')
    .option('--json', 'print JSON')
    .action(action(() => import('./commands/plugins.js')));

  program
    .command('profiles')
    .description('list the profiles of backends.yaml and whether each one is usable')
    .option('--json', 'print JSON (secrets redacted)')
    .action(action(() => import('./commands/profiles.js')));

  program
    .command('validate')
    .description('check backends.yaml and print every problem (exit 1 if there is any)')
    .option('--no-import', 'check profiles against the config schemas plugins ship, without running plugin code')
    .option('--strict', 'a secret whose ${VAR} is not set is an error too (the default when CI=true)')
    .option('--no-strict', 'a secret whose ${VAR} is not set is a warning, even on CI')
    .addHelpText(
      'after',
      [
        '',
        'A profile whose secret comes from a ${VAR} not set here (say api_key: ${OPENAI_API_KEY}) is',
        '"not usable here": a warning naming the variable, exit 0. With --strict, or when CI=true',
        '(unless --no-strict), it is an error and the exit code is 1. Every other problem, an unset',
        'variable in a field that is not a secret (base_url, type) included, is always an error.',
        '',
      ].join('\n'),
    )
    .action(action(() => import('./commands/validate.js')));

  program
    .command('complete')
    .description('get a completion; the prompt is the arguments, else stdin')
    .argument('[prompt...]', 'the prompt (default: read all of stdin)')
    .requiredOption('-p, --profile <name>', 'profile to use')
    .option('--stream', 'print the answer as it arrives')
    .option('--system <text>', 'system message')
    .option('--json', 'print the whole result as JSON ({text, toolCalls, reasoning, finishReason, usage, model})')
    .option('--temperature <n>', 'sampling temperature', parseNumber)
    .option('--max-tokens <n>', 'cap on generated tokens', parsePositiveInt)
    .option('--tools <file>', 'JSON file of tools the model may call ([{name, description, parameters}]); the calls are printed, not run')
    .option('--tool-choice <choice>', 'auto, none, required, or the name of one tool (with --tools)')
    .option('--show-reasoning', "print the model's reasoning on stderr, between [reasoning] and [/reasoning]")
    .option('--image <file>', 'an image file to send with the prompt (repeat for several; profiles whose plugin declares vision)', collect, [] as string[])
    .action(action(() => import('./commands/complete.js')));

  program
    .command('embed')
    .description('embed texts; one JSON array per text')
    .argument('[text...]', 'texts to embed, one per argument (default: one per line of stdin)')
    .requiredOption('-p, --profile <name>', 'profile to use')
    .option('--json', 'print one JSON object {embeddings}')
    .action(action(() => import('./commands/embed.js')));

  program
    .command('models')
    .description("list the models of a profile's backend, with their context length")
    .requiredOption('-p, --profile <name>', 'profile to use')
    .option('--json', 'print JSON')
    .action(action(() => import('./commands/models.js')));

  program
    .command('tokens')
    .description("count the tokens of a text with the backend's tokenizer")
    .argument('[text...]', 'the text (default: read all of stdin)')
    .requiredOption('-p, --profile <name>', 'profile to use')
    .option('--json', 'print {tokens, exact, ids, model} as JSON')
    .action(action(() => import('./commands/tokens.js')));

  program
    .command('speak')
    .description('turn a text into speech and write the audio to a file')
    .argument('[text...]', 'the text (default: read all of stdin)')
    .requiredOption('-p, --profile <name>', 'profile to use')
    .requiredOption('-o, --output <file>', 'audio file to write')
    .option('--voice <voice>', 'voice')
    .option('--format <format>', 'audio format (mp3, wav, ...)')
    .action(action(() => import('./commands/speak.js')));

  program
    .command('transcribe')
    .description('print the text spoken in an audio file')
    .argument('<file>', 'audio file (.wav, .mp3, .ogg, .flac, .webm, .m4a)')
    .requiredOption('-p, --profile <name>', 'profile to use')
    .option('--language <code>', 'language of the audio (e.g. en)')
    .option('--mime-type <type>', 'MIME type of the audio (default: from the file extension)')
    .action(action(() => import('./commands/transcribe.js')));

  program
    .command('schema')
    .description('write a JSON Schema of backends.yaml for editors, from the installed plugins')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(action(() => import('./commands/schema.js')));

  program
    .command('serve')
    .description('serve the profiles as an OpenAI-compatible API (chat, embeddings, audio, models)')
    .option('--port <n>', 'port to listen on', parsePort, 4000)
    .option('--host <address>', 'address to listen on (anything but loopback needs keys in the gateway: section)', '127.0.0.1')
    .action(action(() => import('./commands/serve.js')));

  const plugin = program.command('plugin').description('work on provider plugins');
  plugin
    .command('describe')
    .description('write the description a plugin package ships (capabilities, config schemas), after its build')
    .argument('[dirs...]', 'plugin package directories (default: .)')
    .action(action(() => import('./commands/plugin-describe.js')));
  plugin
    .command('new')
    .description('scaffold a provider plugin package whose tests pass straight away')
    .argument('<name>', 'plugin name, e.g. "acme" (package aegis-provider-acme, type acme)')
    .option('--dir <path>', 'where to write it (default: ./aegis-provider-<name>)')
    .action(action(() => import('./commands/plugin-new.js')));

  try {
    await program.parseAsync([...argv], { from: 'node' });
  } catch (error) {
    exitCode = await report(error, err, verbose);
  } finally {
    try {
      aegis?.close();
      for (const other of others) other.close();
    } catch {
      // nothing left to do
    }
    out.flush();
    err.flush();
  }
  return exitCode;
}

/**
 * `--env-file` is an option of Node itself, and Node 20.19+ reads the file
 * named after it anywhere on its command line, even after the script name, before
 * any code of ours runs: it applies a NODE_OPTIONS line of that file (code to
 * preload), with no size limit, waits for ever on a FIFO, and exits with
 * `node: <file>: not found` for a missing one. Under `npx aegis` npm's own
 * process reads it too. No launcher can undo that, so the CLI's option is
 * `--dotenv` (and AEGIS_ENV_FILE), and `--env-file` is refused so that no
 * one keeps typing it.
 */
export const ENV_FILE_REFUSED =
  '--env-file is not an aegis option: Node itself reads the file named after it before aegis starts ' +
  '(it applies a NODE_OPTIONS line in it, without aegis\'s checks), so aegis does not use it. ' +
  'Pass the env file with --dotenv <path>, or set AEGIS_ENV_FILE';

/** Prints an error (commander has printed its own already) and returns the exit code. */
async function report(error: unknown, err: RedactingWriter, verbose: boolean): Promise<number> {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 1;
  try {
    const { describeError } = await import('./errors.js');
    const { lines, exitCode } = describeError(error, verbose);
    for (const line of lines) err.line(line);
    return exitCode;
  } catch {
    err.line(`aegis: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number.');
  return n;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535).');
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number.');
  return n;
}

/** Collects a repeatable option's values. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
