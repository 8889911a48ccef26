#!/usr/bin/env node
/** aegis-emulator <kind> [--port N] [--api-key KEY] [--model NAME ...] [--chunk-delay MS]: prints the base URL, runs until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { EMULATOR_KINDS, startEmulator, type EmulatorKind } from './index.js';

const USAGE = `usage: aegis-emulator <${EMULATOR_KINDS.join('|')}> [--port N] [--api-key KEY] [--model NAME]... [--chunk-delay MS]`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string', short: 'p' },
      'api-key': { type: 'string' },
      model: { type: 'string', multiple: true },
      'chunk-delay': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const kind = positionals[0] as EmulatorKind | undefined;
  if (values.help || !kind || !EMULATOR_KINDS.includes(kind) || positionals.length > 1) {
    (values.help ? process.stdout : process.stderr).write(USAGE + '\n');
    process.exit(values.help ? 0 : 2);
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port: ${values.port}`);
  const emu = await startEmulator(kind, {
    port,
    apiKey: values['api-key'],
    models: values.model,
    chunkDelayMs: values['chunk-delay'] === undefined ? undefined : Number(values['chunk-delay']),
  });
  process.stdout.write(emu.baseUrl + '\n');
  const stop = (): void => {
    emu.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`aegis-emulator: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
