import { ConfigurationError, formatIssue } from '@aegis/core';
import type { CommandContext, InstanceOptions } from '../context.js';
import { oneLine } from '../output.js';

export interface ServeOptions {
  port: number;
  host: string;
}

/**
 * A gateway holds as many upstream streams at once as it has clients: no
 * bound on connections per backend unless backends.yaml sets one
 * (`http.max_sockets`); the gateway's own limits bound the load.
 */
const INSTANCE: InstanceOptions = { httpDefaults: { maxSockets: Number.POSITIVE_INFINITY } };

/**
 * `aegis serve`: the OpenAI-compatible gateway over the profiles. Access log
 * lines (JSON) on stdout, everything else on stderr. SIGTERM/SIGINT: graceful
 * stop; SIGHUP: read backends.yaml and .env again, keeping the running
 * configuration when the new one is invalid.
 */
export async function run(ctx: CommandContext, options: ServeOptions): Promise<number> {
  const { createGateway, GatewayStartError } = await import('@aegis/gateway');
  const aegis = await ctx.aegis(INSTANCE);
  const gateway = await createGateway(aegis, { accessLog: (line) => ctx.out.line(line) });
  let listening: { url: string };
  try {
    listening = await gateway.listen({ port: options.port, host: options.host });
  } catch (error) {
    await gateway.close({ timeoutMs: 0 });
    if (error instanceof GatewayStartError) {
      for (const line of error.message.split('\n')) ctx.err.line(`aegis: ${line}`);
      return 1;
    }
    throw error;
  }
  return new Promise<number>((resolve) => {
    let reloading = Promise.resolve();
    const reload = () => {
      reloading = reloading.then(async () => {
        try {
          await gateway.reload(await ctx.freshAegis(INSTANCE));
          ctx.err.line(`aegis: configuration reloaded: serving ${gateway.models.join(', ') || 'no models'}`);
        } catch (error) {
          ctx.err.line(`aegis: reload failed, still serving the previous configuration: ${describe(error)}`);
        }
        ctx.err.flush();
      });
    };
    let stopping = false;
    // Every signal keeps a handler until the process ends: without one, a second SIGTERM (systemd and
    // npm may both send one) or a SIGHUP during the drain would kill the process and cut the streams.
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        ctx.err.line(`aegis: ${signal} ignored: already stopping, in-flight calls are finishing`);
        ctx.err.flush();
        return;
      }
      if (signal === 'SIGHUP') return reload();
      stopping = true;
      // close() stops accepting before it returns its promise: the line below is printed once no new connection is taken.
      const closing = gateway.close();
      ctx.err.line(`aegis: ${signal}: stopped accepting; in-flight calls get up to ${gateway.settings.shutdownTimeoutMs / 1000} s`);
      ctx.err.flush();
      // A reload still under way when the drain ends is refused by the gateway (it is shutting down) and lets go
      // of what it made; waiting for it means nothing it opened keeps the process alive after "stopped".
      void closing.then(() => reloading).then(() => {
        ctx.err.line('aegis: stopped');
        resolve(0);
      });
    };
    for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) process.on(signal, onSignal);
    // Announced once the handlers are in place: a SIGHUP sent as soon as this line is read (by a supervisor, a
    // test) reloads instead of killing the process with the signal's default action.
    const models = gateway.models;
    ctx.err.line(`aegis: serving ${models.length} model${models.length === 1 ? '' : 's'} (${models.join(', ') || 'none'}) on ${listening.url}/v1`);
    if (gateway.settings.keys.length === 0) ctx.err.line('aegis: no keys configured: anyone on this machine can call it (loopback only)');
    ctx.err.flush();
  });
}

function describe(error: unknown): string {
  if (ConfigurationError.isInstance(error)) return error.issues.map((issue) => `\n  ${oneLine(formatIssue(issue))}`).join('');
  return oneLine(error instanceof Error ? error.message : String(error));
}
