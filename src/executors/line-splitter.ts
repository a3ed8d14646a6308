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
    const cr = piece.lastIndexOf('\r');
    if (cr !== -1 && cr < piece.length - 1) {
      // Progress output: the line so far is overwritten by what follows the carriage return.
      this.buffer = '';
      this.dropped = 0;
      piece = piece.slice(cr + 1);
    } else if (cr === piece.length - 1) {
      piece = piece.slice(0, -1);
    }
    const room = MAX_LINE_CHARS - this.buffer.length;
    if (piece.length <= room) this.buffer += piece;
    else {
      this.buffer += piece.slice(0, Math.max(0, room));
      this.dropped += piece.length - Math.max(0, room);
    }
  }

  private flushLine(): void {
    const line = this.dropped ? `${this.buffer} … [line cut: ${this.dropped} more characters]` : this.buffer;
    this.buffer = '';
    this.dropped = 0;
    this.emit(line);
  }
}
