/** `POST /v1/audio/speech` and `POST /v1/audio/transcriptions` (multipart). */
import { z, type TranscriptionResult } from '@aegis/core';
import { invalidRequest, unsupportedParameter } from '../errors.js';
import { parseRequest } from './validate.js';

const speechSchema = z.object({
  model: z.string().min(1),
  input: z.string().min(1).max(4096),
  voice: z.string().min(1).optional(),
  response_format: z.enum(['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm']).optional(),
  speed: z.number().min(0.25).max(4).optional(),
  stream_format: z.literal('audio').optional(),
});

export interface SpeechRequest {
  model: string;
  input: string;
  voice?: string;
  format?: string;
  speed?: number;
}

export function parseSpeechRequest(body: Record<string, unknown>): SpeechRequest {
  const req = parseRequest(speechSchema, body, {
    instructions: { why: 'AEGIS speech options have no instructions' },
  });
  return { model: req.model, input: req.input, voice: req.voice, format: req.response_format, speed: req.speed };
}

const FORMATS = ['json', 'text', 'verbose_json'] as const;

export interface TranscriptionRequest {
  model: string;
  audio: Uint8Array;
  fileName: string;
  mimeType: string;
  language?: string;
  prompt?: string;
  format: (typeof FORMATS)[number];
}

const MIME_OF: Record<string, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  mpga: 'audio/mpeg',
  mpeg: 'audio/mpeg',
  m4a: 'audio/mp4',
  mp4: 'audio/mp4',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  flac: 'audio/flac',
  webm: 'audio/webm',
};

/**
 * Reads the multipart form with the platform's own parser (undici's
 * `Request.formData()`, in Node since 18: no dependency), after the body was
 * read within the size limit.
 */
export async function parseTranscriptionRequest(body: Buffer, contentType: string | undefined): Promise<TranscriptionRequest> {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    throw invalidRequest('expected a multipart/form-data body with a "file" field', 'file');
  }
  let form: FormData;
  try {
    form = await new Request('http://gateway.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) as unknown as ArrayBuffer }).formData();
  } catch (error) {
    throw invalidRequest(`the multipart body could not be read: ${(error as Error).message}`);
  }
  // No prototype: a field named "__proto__" or "constructor" is a field like any other (refused below).
  const fields: Record<string, string> = Object.create(null) as Record<string, string>;
  let file: File | undefined;
  for (const [name, value] of form as unknown as Iterable<[string, string | File]>) {
    // A field sent twice is refused, not decided by its order (which one would the backend have taken?).
    if (Object.hasOwn(fields, name) || (name === 'file' && file)) throw invalidRequest(`the field "${name}" is sent more than once`, name);
    if (typeof value === 'string') fields[name] = value;
    else if (name === 'file') file = value;
    else throw invalidRequest(`unexpected file field "${name}"`, name);
  }
  for (const name of Object.keys(fields)) {
    if (name === 'temperature' || name.startsWith('timestamp_granularities') || name === 'include[]' || name === 'chunking_strategy') {
      throw unsupportedParameter(name, 'AEGIS transcription options do not carry it');
    }
    if (name === 'stream' && fields[name] === 'true') throw unsupportedParameter('stream', 'streamed transcription is not supported');
    if (!['model', 'language', 'prompt', 'response_format', 'stream', 'file'].includes(name)) {
      throw invalidRequest(`Unrecognized request argument supplied: ${name}`, name, 'unknown_parameter');
    }
  }
  if (!file) throw invalidRequest('the "file" field (the audio) is required', 'file');
  if (file.size === 0) throw invalidRequest('the "file" field is empty: it must hold the audio', 'file');
  if (!fields.model) throw invalidRequest('you must provide a model parameter', 'model');
  const format = (fields.response_format ?? 'json') as TranscriptionRequest['format'];
  if (!FORMATS.includes(format)) {
    throw unsupportedParameter('response_format', `supported formats: ${FORMATS.join(', ')}`);
  }
  const extension = /\.([a-z0-9]+)$/i.exec(file.name)?.[1]?.toLowerCase() ?? '';
  const mimeType = file.type && file.type !== 'application/octet-stream' ? file.type : (MIME_OF[extension] ?? 'audio/wav');
  return {
    model: fields.model,
    audio: new Uint8Array(await file.arrayBuffer()),
    fileName: file.name || 'audio.wav',
    mimeType,
    language: fields.language || undefined,
    prompt: fields.prompt || undefined,
    format,
  };
}

/** The answer to a transcription: every string it passes on from the backend's result goes through `scrub`. */
export function transcriptionBody(
  result: TranscriptionResult,
  format: TranscriptionRequest['format'],
  scrub: (text: string) => string,
): { text: string; json?: Record<string, unknown> } {
  const text = scrub(result.text);
  if (format === 'text') return { text };
  if (format === 'verbose_json') return { text: '', json: { task: 'transcribe', language: result.language == null ? null : scrub(result.language), text } };
  return { text: '', json: { text } };
}

export function speechMime(format: string | undefined, reported: string): string {
  return reported || (format === 'wav' ? 'audio/wav' : 'audio/mpeg');
}
