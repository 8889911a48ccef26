/**
 * Text from outside made safe for a terminal: the same rule as core's
 * `safeForTerminal` (kept here so that `aegis --help` and usage errors do not
 * load core). Control characters a terminal acts on (ESC sequences: clipboard
 * writes, screen clears, titles; BEL, backspace, C1 controls, DEL) and the
 * bidirectional overrides become visible `\uXXXX` escapes; newline and tab
 * stay; carriage returns are dropped. Any script and emoji stay as they are.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function safeForTerminal(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (char) => (char === '\r' ? '' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
