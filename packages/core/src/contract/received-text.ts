/**
 * The text of a stream handed out so far, kept as the pieces the plugin
 * yielded: single deltas, and batches of which the first `handed` deltas of
 * the last one are out. Appending each delta to a string would build a chain
 * of thousands of small strings alive until the stream ends, and even storing
 * each delta in an array costs a write per delta: on a long stream either is
 * a visible share of the time (bench/RESULTS.md). A batch is stored once; the
 * text is joined when asked for, and kept until something more is handed out.
 */
export class ReceivedText {
  private readonly pieces: (string | readonly string[])[] = [];
  private joined = '';
  private joinedPieces = 0;
  private joinedHanded = 0;
  /** Characters of the pieces so far, a batch counted whole as soon as it arrives. */
  length = 0;

  /** A delta handed out on its own. */
  add(delta: string): void {
    this.pieces.push(delta);
    this.length += delta.length;
  }

  /**
   * A batch whose deltas are about to be handed out, in order. A batch that
   * also holds stream parts (objects) is stored as its text, each part an
   * empty string, so the positions of the deltas stay the same.
   */
  addBatch(batch: readonly unknown[]): void {
    let length = this.length;
    let i = 0;
    for (; i < batch.length; i++) {
      const item = batch[i];
      if (typeof item !== 'string') break;
      length += item.length;
    }
    if (i < batch.length) {
      const texts = batch.map((item) => (typeof item === 'string' ? item : ''));
      length = this.length;
      for (const text of texts) length += text.length;
      this.pieces.push(texts);
    } else {
      this.pieces.push(batch as readonly string[]);
    }
    this.length = length;
  }

  /** The text handed out, when the last piece is a batch of which `handed` deltas are out. */
  text(handed: number): string {
    if (this.joinedPieces !== this.pieces.length || this.joinedHanded !== handed) {
      const last = this.pieces.length - 1;
      let text = '';
      for (let i = 0; i <= last; i++) {
        const piece = this.pieces[i]!;
        text += typeof piece === 'string' ? piece : (i === last ? piece.slice(0, handed) : piece).join('');
      }
      this.joined = text;
      this.joinedPieces = this.pieces.length;
      this.joinedHanded = handed;
    }
    return this.joined;
  }
}
