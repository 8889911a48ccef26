/** Tiny but valid audio payloads for the TTS endpoints. */

/** 16-bit little-endian mono PCM samples of a quiet sine tone. */
export function pcmTone(durationMs: number, sampleRate = 24000, frequency = 440): Buffer {
  const n = Math.max(1, Math.round((sampleRate * durationMs) / 1000));
  const buf = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate)), i * 2);
  }
  return buf;
}

/** A RIFF/WAVE file (PCM, 16-bit, mono) around `pcm`. */
export function wavFile(pcm: Buffer, sampleRate = 24000): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28); // byte rate
  h.writeUInt16LE(2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

/** Duration of the synthetic speech for a text: 60 ms a character, 200 ms to 1.5 s. */
export function speechDurationMs(text: string): number {
  return Math.min(1500, Math.max(200, text.length * 60));
}

/** Silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes each). */
function mp3Silence(frames: number): Buffer {
  const frame = Buffer.alloc(417);
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return Buffer.concat(Array.from({ length: frames }, () => frame));
}

function withMagic(magic: number[] | string, size: number): Buffer {
  const head = typeof magic === 'string' ? Buffer.from(magic, 'ascii') : Buffer.from(magic);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length))]);
}

export interface SpeechAudio {
  contentType: string;
  data: Buffer;
}

/**
 * Audio for OpenAI's `response_format`. wav and pcm are real audio and mp3 is valid
 * silent frames. opus, aac and flac only carry the container's signature bytes.
 */
export function speechAudio(format: string, text: string): SpeechAudio {
  const ms = speechDurationMs(text);
  switch (format) {
    case 'wav':
      return { contentType: 'audio/wav', data: wavFile(pcmTone(ms)) };
    case 'pcm':
      return { contentType: 'audio/pcm', data: pcmTone(ms) };
    case 'opus':
      return { contentType: 'audio/opus', data: withMagic('OggS', 256) };
    case 'aac':
      return { contentType: 'audio/aac', data: withMagic([0xff, 0xf1, 0x50, 0x80], 256) };
    case 'flac':
      return { contentType: 'audio/flac', data: withMagic('fLaC', 256) };
    default:
      return { contentType: 'audio/mpeg', data: mp3Silence(Math.ceil(ms / 26)) };
  }
}
