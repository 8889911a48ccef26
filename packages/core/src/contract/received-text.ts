/**
 * The text of a stream handed out so far, kept as its deltas. Appending each
 * delta to a string would build a chain of thousands of small string nodes,
 * all alive until the stream ends: on a long stream that is most of the
 * garbage collector's work (bench/RESULTS.md). An array of the deltas is one
 * object; the text is joined when asked for, and kept until the next delta.
 */
export class ReceivedText {
  private readonly deltas: string[] = [];
  private joined = '';
  private joinedCount = 0;
  /** Characters so far. */
  length = 0;

  add(delta: string): void {
    this.deltas.push(delta);
    this.length += delta.length;
  }

  get text(): string {
    if (this.joinedCount !== this.deltas.length) {
      this.joined = this.deltas.join('');
      this.joinedCount = this.deltas.length;
    }
    return this.joined;
  }
}
