/**
 * Text from outside (a backend's answer or error, a value of backends.yaml)
 * made safe to print on a terminal: control characters that a terminal would
 * act on (ESC sequences that write the clipboard, clear the screen, set the
 * title; BEL; backspace; C1 controls such as the one-byte CSI; DEL) and the
 * bidirectional overrides that make a line show something else than it says
 * are written as visible `\uXXXX` escapes. Newline and tab stay, carriage
 * returns are dropped (one can hide the start of a line). Everything else —
 * any script, emoji with their joiners — is untouched.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function safeForTerminal(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (char) => (char === '\r' ? '' : `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
