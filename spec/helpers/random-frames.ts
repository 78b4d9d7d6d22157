/** fast-check generators of hostile multipart messages, shared by the property tests. */
import fc from 'fast-check';

/** Words that steer messages into the interesting branches of the parser. */
const WORDS = ['recodex-monitor', 'FINISHED', 'FAILED', 'TASK', 'COMPLETED', '0', 'exit', ''];

/** One frame: random bytes (mostly invalid UTF-8), valid UTF-8 text, or a known word. */
export function frame(maxFrameBytes: number): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
    fc.string({ unit: 'binary', maxLength: 12 }).map((text) => Buffer.from(text, 'utf8')),
    fc.constantFrom(...WORDS).map((word) => Buffer.from(word)),
    // Lengths around the frame limit.
    fc
      .integer({ min: maxFrameBytes - 2, max: maxFrameBytes + 2 })
      .map((length) => Buffer.alloc(length, 0x61)),
    // UTF-8 sequences that TextDecoder must refuse: overlong, surrogates, truncated, too high.
    fc
      .constantFrom([0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80])
      .map((bytes) => Buffer.from(bytes)),
  );
}

/** A multipart message of 0 to 8 frames. */
export function frames(maxFrameBytes: number): fc.Arbitrary<Buffer[]> {
  return fc.array(frame(maxFrameBytes), { minLength: 0, maxLength: 8 });
}
