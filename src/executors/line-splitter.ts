/**
 * Splits a process's output into log lines without trusting it: a line longer than the cap is
 * cut (the rest counted, not kept), so a command printing megabytes with no newline cannot
 * exhaust memory; a carriage return (progress bars) keeps only what follows it, as a terminal
 * would show.
 */
export const MAX_LINE_CHARS = 16 * 1024;

export class LineSplitter {
  private buffer = '';
  private dropped = 0;
  private afterCarriageReturn = false;

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf('\n', start);
      const piece = chunk.slice(start, newline === -1 ? undefined : newline);
      this.append(piece);
      if (newline === -1) return;
      this.flushLine();
      start = newline + 1;
    }
  }

  /** Emits what is left (a last line without a newline). */
  end(): void {
    if (this.buffer || this.dropped) this.flushLine();
  }

  private append(piece: string): void {
    const parts = piece.split('\r');
    parts.forEach((part, index) => {
      if (index > 0) this.afterCarriageReturn = true;
      if (part.length === 0) return;
      if (this.afterCarriageReturn) {
        // Progress output: text after a carriage return overwrites the line so far (a CRLF line
        // ending has nothing after its \r, so it keeps the line).
        this.buffer = '';
        this.dropped = 0;
        this.afterCarriageReturn = false;
      }
      const room = MAX_LINE_CHARS - this.buffer.length;
      if (part.length <= room) this.buffer += part;
      else {
        this.buffer += part.slice(0, Math.max(0, room));
        this.dropped += part.length - Math.max(0, room);
      }
    });
  }

  private flushLine(): void {
    const line = this.dropped ? `${this.buffer} … [line cut: ${this.dropped} more characters]` : this.buffer;
    this.buffer = '';
    this.dropped = 0;
    this.afterCarriageReturn = false;
    this.emit(line);
  }
}
