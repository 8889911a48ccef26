/** Bends a normal plan into the wire of a fault. */
import type { Plan, StreamPlan } from './plan.js';
import type { Fault } from './types.js';
import { planWire, wireBytes, type Wire } from './wire.js';

const WRONG_SHAPE = JSON.stringify({ unexpected: true, items: [1, 2, 3], note: 'wrong-shape fault from the AEGIS emulator' });

/** Plan for a `status` fault with an explicit body. */
export function customStatusWire(fault: Extract<Fault, { kind: 'status' }>, defaultPlan: Plan): Wire {
  let wire: Wire;
  if (fault.body === undefined) {
    wire = planWire(defaultPlan);
  } else {
    const b = fault.body;
    const [type, data] = Buffer.isBuffer(b)
      ? ['application/octet-stream', b]
      : typeof b === 'string'
        ? [/^\s*[{[]/.test(b) ? 'application/json' : 'text/plain; charset=utf-8', b]
        : ['application/json', JSON.stringify(b)];
    wire = { status: fault.status, headers: { 'content-type': type }, pieces: [data], contentLength: true, end: 'end' };
  }
  wire.status = fault.status;
  wire.headers = { ...wire.headers, ...fault.headers };
  if (fault.retryAfter !== undefined) wire.headers['retry-after'] = fault.retryAfter;
  return wire;
}

/** Payloads of all frames but the end marker. */
const allFrames = (p: StreamPlan): string[] => [...p.frames, ...p.tail];

function streamWire(plan: StreamPlan, payloads: string[], extra: string[] = [], end: Wire['end'] = 'end'): Wire {
  const base = planWire(plan);
  return { ...base, status: 200, pieces: [...payloads.map(plan.format.frame), ...extra], end };
}

function bodyHalf(body: string | Buffer): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return b.subarray(0, Math.max(1, Math.floor(b.length / 2)));
}

function halfText(text: string): string {
  return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
}

/** The wire for every fault kind that still answers with (part of) the normal plan. */
export function faultWire(fault: Fault, plan: Plan): Wire {
  const normal = planWire(plan);
  switch (fault.kind) {
    case 'reset-mid-stream':
    case 'truncate': {
      if (plan.type === 'stream') {
        const end = fault.kind === 'truncate' ? 'end' : plan.format.closeDelimited ? 'reset' : 'destroy';
        const frames = allFrames(plan);
        const n = fault.afterChunks ?? (fault.kind === 'truncate' ? plan.frames.length : 2);
        return streamWire(plan, frames.slice(0, Math.max(0, n)), [], end);
      }
      return { ...normal, pieces: [bodyHalf(plan.body)], contentLength: false, end: fault.kind === 'truncate' ? 'end' : 'destroy' };
    }
    case 'malformed-json': {
      if (plan.type === 'stream') {
        const frames = allFrames(plan);
        const i = Math.min(1, Math.max(0, frames.length - 1));
        frames[i] = halfText(frames[i] ?? WRONG_SHAPE);
        const wire = streamWire(plan, frames, plan.format.done ? [plan.format.done] : []);
        return wire;
      }
      const text = typeof plan.body === 'string' && /^\s*[{[]/.test(plan.body) ? plan.body : WRONG_SHAPE;
      return { ...normal, status: 200, headers: { ...normal.headers, 'content-type': 'application/json' }, pieces: [halfText(text)] };
    }
    case 'wrong-shape':
      if (plan.type === 'stream') return streamWire(plan, [WRONG_SHAPE], plan.format.done ? [plan.format.done] : []);
      return { ...normal, status: 200, headers: { ...normal.headers, 'content-type': 'application/json' }, pieces: [WRONG_SHAPE] };
    case 'stream-error':
      if (plan.type === 'stream') {
        const message = fault.message ?? 'an error was encountered while running the model';
        return streamWire(plan, plan.frames.slice(0, 2), [plan.errorWire(message)]);
      }
      return normal; // non-stream requests: the caller substitutes the backend's 500
    case 'oversized':
      return padTo(normal, plan, fault.bytes);
    case 'cut-in-tool-call': {
      const end = fault.reset ? (plan.type === 'stream' && plan.format.closeDelimited ? 'reset' : 'destroy') : 'end';
      if (plan.type === 'stream' && plan.toolCallFrame !== undefined) return cutInWholeCall(plan, plan.toolCallFrame, end);
      if (plan.type === 'stream') {
        const n = plan.cutInToolCall ?? Math.max(1, Math.floor(plan.frames.length / 2));
        return streamWire(plan, allFrames(plan).slice(0, n), [], end);
      }
      return { ...normal, pieces: [bodyHalf(plan.body)], contentLength: false, end };
    }
    default:
      return normal;
  }
}

/** The stream up to the middle of the arguments of a call that comes whole in one frame, then `end`. */
function cutInWholeCall(plan: StreamPlan, at: number, end: Wire['end']): Wire {
  const frames = allFrames(plan);
  const index = Math.min(at, frames.length - 1);
  const wire = plan.format.frame(frames[index]!);
  const args = wire.indexOf('"arguments"');
  const cut = args >= 0 ? args + Math.ceil((wire.length - args) / 2) : Math.max(1, Math.floor(wire.length / 2));
  return streamWire(plan, frames.slice(0, index), [wire.slice(0, cut)], end);
}

/** Make sure the wire carries at least `bytes` bytes (the caller already rendered a huge reply text). */
function padTo(wire: Wire, plan: Plan, bytes: number): Wire {
  const missing = bytes - wireBytes(wire);
  if (missing <= 0) return wire;
  if (plan.type === 'stream') {
    const pad = plan.format.frame(JSON.stringify({ padding: 'x'.repeat(Math.max(0, missing)) }));
    return { ...wire, pieces: [pad, ...wire.pieces] };
  }
  const padding = JSON.stringify({ padding: 'x'.repeat(Math.max(0, bytes - 14)) });
  return { ...wire, status: 200, headers: { ...wire.headers, 'content-type': 'application/json' }, pieces: [padding] };
}
