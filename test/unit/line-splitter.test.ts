import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_CHARS } from '../../src/executors/line-splitter.js';

function split(chunks: string[]): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits on newlines across chunks and keeps a last line without one', () => {
    expect(split(['a\nb', 'c\nd'])).toEqual(['a', 'bc', 'd']);
  });

  it('treats CRLF as a line ending', () => {
    expect(split(['done\r\n', 'next\r', '\n'])).toEqual(['done', 'next']);
  });

  it('keeps only what follows a carriage return, across chunks, as a terminal shows it', () => {
    expect(split(['p1\r', 'p2\r', 'p3\n'])).toEqual(['p3']);
    expect(split(['10%\r50%\r100%\n'])).toEqual(['100%']);
  });

  it('cuts a line past the limit and says how much was cut', () => {
    const [line] = split(['x'.repeat(MAX_LINE_CHARS + 500), 'y'.repeat(500), '\n']);
    expect(line).toBe(`${'x'.repeat(MAX_LINE_CHARS)} … [line cut: 1000 more characters]`);
  });
});
