import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatMessage, parseFrames, pythonJsonString, type Parsed } from '../src/message';
import { frames } from './helpers/random-frames';

// Expected texts were produced by CPython 3.11:
// json.dumps(dict(zip(["command", "task_id", "task_state"], frames)), sort_keys=True)
const PYTHON_CASES: [name: string, frames: string[], python: string][] = [
  ['ascii', ['STARTED'], String.raw`{"command": "STARTED"}`],
  [
    'task',
    ['TASK', 'compile', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}`,
  ],
  [
    'quotes',
    ['TASK', 'say "hi"', 'FAILED'],
    String.raw`{"command": "TASK", "task_id": "say \"hi\"", "task_state": "FAILED"}`,
  ],
  [
    'backslashes',
    ['TASK', 'C:\\path\\x', 'SKIPPED'],
    String.raw`{"command": "TASK", "task_id": "C:\\path\\x", "task_state": "SKIPPED"}`,
  ],
  [
    'short escapes',
    ['TASK', 'a\nb\rc\td\be\ff', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "a\nb\rc\td\be\ff", "task_state": "COMPLETED"}`,
  ],
  [
    'other control characters and DEL',
    ['TASK', '\u0000\u0001\u001f\u007f', 'FAILED'],
    String.raw`{"command": "TASK", "task_id": "\u0000\u0001\u001f\u007f", "task_state": "FAILED"}`,
  ],
  [
    'Czech diacritics',
    ['TASK', 'Příliš žluťoučký kůň úpěl ďábelské ódy', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "P\u0159\u00edli\u0161 \u017elu\u0165ou\u010dk\u00fd k\u016f\u0148 \u00fap\u011bl \u010f\u00e1belsk\u00e9 \u00f3dy", "task_state": "COMPLETED"}`,
  ],
  [
    'an emoji as a surrogate pair',
    ['TASK', 'done 😀', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "done \ud83d\ude00", "task_state": "COMPLETED"}`,
  ],
  [
    'CJK, no-break space and line separator',
    ['TASK', 'é中\u00a0\u2028', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "\u00e9\u4e2d\u00a0\u2028", "task_state": "COMPLETED"}`,
  ],
  [
    'missing task_state',
    ['TASK', 'compile'],
    String.raw`{"command": "TASK", "task_id": "compile"}`,
  ],
  [
    'slash and HTML are not escaped',
    ['TASK', '</script><b>&amp;', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "</script><b>&amp;", "task_state": "COMPLETED"}`,
  ],
  [
    'empty task id',
    ['TASK', '', 'COMPLETED'],
    String.raw`{"command": "TASK", "task_id": "", "task_state": "COMPLETED"}`,
  ],
];

const OPTIONS = { routingId: 'recodex-monitor', maxFrameBytes: 64 * 1024 };
const SENDER = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]);

function parse(...frames: (string | Buffer)[]): Parsed {
  return parseFrames(
    frames.map((f) => (typeof f === 'string' ? Buffer.from(f) : f)),
    OPTIONS,
  );
}

describe('formatMessage', () => {
  for (const [name, frames, python] of PYTHON_CASES) {
    it(`writes the bytes Python writes: ${name}`, () => {
      assert.equal(formatMessage(frames), python);
    });
  }

  it('ignores values beyond task_state', () => {
    assert.equal(
      formatMessage(['TASK', 'a', 'COMPLETED', 'extra', 'more']),
      '{"command": "TASK", "task_id": "a", "task_state": "COMPLETED"}',
    );
  });

  it('yields JSON that parses back to the same values', () => {
    for (const [, frames] of PYTHON_CASES) {
      const parsed = JSON.parse(formatMessage(frames)) as Record<string, string>;
      assert.deepEqual(Object.values(parsed), frames);
    }
  });
});

describe('pythonJsonString', () => {
  it('writes hex escapes in lowercase', () => {
    assert.equal(pythonJsonString('\u00ff\u00ab'), String.raw`"\u00ff\u00ab"`);
  });
});

describe('parseFrames', () => {
  it('reads a full TASK message and ignores the sender frame', () => {
    assert.deepEqual(parse(SENDER, 'job-1', 'TASK', 'compile', 'COMPLETED'), {
      kind: 'progress',
      channel: 'job-1',
      command: 'TASK',
      json: '{"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}',
      terminal: false,
    });
  });

  it('marks FINISHED as terminal and nothing else', () => {
    const finished = parse(SENDER, 'job-1', 'FINISHED');
    assert.equal(finished.kind === 'progress' && finished.terminal, true);
    for (const command of ['FAILED', 'ABORTED', 'STARTED', 'finished']) {
      const parsed = parse(SENDER, 'job-1', command);
      assert.equal(parsed.kind === 'progress' && parsed.terminal, false, command);
    }
  });

  it('ignores frames beyond task_state', () => {
    const parsed = parse(SENDER, 'job', 'TASK', 'a', 'COMPLETED', 'x', 'y', 'z');
    assert.equal(
      parsed.kind === 'progress' && parsed.json,
      formatMessage(['TASK', 'a', 'COMPLETED']),
    );
  });

  it('unwraps a message the broker glued behind a bare progress', () => {
    const parsed = parse(SENDER, 'recodex-monitor', 'job-9', 'STARTED');
    assert.equal(parsed.kind, 'progress');
    assert.equal(parsed.kind === 'progress' && parsed.channel, 'job-9');
  });

  it('drops a message without a command frame, naming the channel', () => {
    assert.deepEqual(parse(SENDER, 'job-1'), {
      kind: 'dropped',
      channel: 'job-1',
      code: 'no_command',
      reason: 'no command frame',
    });
  });

  it('drops a message with only the sender frame, or with no frames at all', () => {
    for (const parsed of [parse(SENDER), parse()]) {
      assert.equal(parsed.kind === 'dropped' && parsed.code, 'no_channel');
    }
  });

  it('drops empty channel ids and empty commands', () => {
    assert.deepEqual(parse(SENDER, '', 'STARTED'), {
      kind: 'dropped',
      channel: undefined,
      code: 'empty_channel',
      reason: 'empty channel id',
    });
    assert.deepEqual(parse(SENDER, 'job', ''), {
      kind: 'dropped',
      channel: 'job',
      code: 'empty_command',
      reason: 'empty command frame',
    });
  });

  it('drops frames that are not valid UTF-8 and says which', () => {
    const bad = Buffer.from([0xc3, 0x28]);
    assert.deepEqual(parse(SENDER, bad, 'STARTED'), {
      kind: 'dropped',
      channel: undefined,
      code: 'invalid_utf8',
      reason: 'channel id is not valid UTF-8',
    });
    assert.deepEqual(parse(SENDER, 'job', 'TASK', 'x', bad), {
      kind: 'dropped',
      channel: 'job',
      code: 'invalid_utf8',
      reason: 'task_state frame is not valid UTF-8',
    });
    // An encoded lone surrogate is not valid UTF-8 either.
    assert.equal(parse(SENDER, 'job', Buffer.from([0xed, 0xa0, 0x80])).kind, 'dropped');
  });

  it('ignores invalid bytes in frames beyond task_state, as they are never read', () => {
    assert.equal(parse(SENDER, 'job', 'TASK', 'a', 'b', Buffer.from([0xff])).kind, 'progress');
  });

  it('drops a message with a frame over the size limit', () => {
    const parsed = parse(SENDER, 'job', 'TASK', 'x'.repeat(64 * 1024 + 1), 'COMPLETED');
    assert.equal(parsed.kind, 'dropped');
    assert.equal(parsed.kind === 'dropped' && parsed.channel, 'job');
    assert.equal(parsed.kind === 'dropped' && parsed.code, 'oversized');
    assert.match(parsed.kind === 'dropped' ? parsed.reason : '', /frame 3 has 65537 bytes/);
  });

  it('recognises the exit command only as channel 0 with the single frame exit', () => {
    assert.deepEqual(parse(SENDER, '0', 'exit'), { kind: 'exit' });
    assert.equal(parse(SENDER, '0', 'exit', 'x').kind, 'progress');
    assert.equal(parse(SENDER, '1', 'exit').kind, 'progress');
  });
});

describe('parseFrames on random input (property-based)', () => {
  const options = { routingId: 'recodex-monitor', maxFrameBytes: 64 };
  const strict = new TextDecoder('utf-8', { fatal: true });
  const text = (frame: Uint8Array): string | undefined => {
    try {
      return strict.decode(frame);
    } catch {
      return undefined;
    }
  };

  /** What the protocol says of a message, stated apart from the parser. */
  function expected(message: Buffer[]): { relayed: boolean; channel?: string; values?: string[] } {
    let rest = message.slice(1);
    if (rest.length > 2 && text(rest[0]) === 'recodex-monitor') rest = rest.slice(1);
    const channel = rest.length > 0 ? text(rest[0]) : undefined;
    const values = rest.slice(1, 4).map(text);
    const relayed =
      rest.length >= 2 &&
      rest.every((f) => f.length <= options.maxFrameBytes) &&
      channel !== undefined &&
      channel !== '' &&
      values.every((v) => v !== undefined) &&
      values[0] !== '';
    return relayed ? { relayed, channel, values: values as string[] } : { relayed };
  }

  it('never throws, and relays exactly the valid messages with the JSON formatMessage promises', () => {
    let relayed = 0;
    let dropped = 0;
    fc.assert(
      fc.property(frames(options.maxFrameBytes), (message) => {
        const parsed = parseFrames(message, options);
        const want = expected(message);
        if (!want.relayed) {
          assert.equal(parsed.kind, 'dropped');
          assert.ok(parsed.kind === 'dropped' && parsed.reason.length > 0);
          dropped += 1;
          return;
        }
        const values = want.values as string[];
        if (want.channel === '0' && values[0] === 'exit' && values.length === 1) {
          assert.deepEqual(parsed, { kind: 'exit' });
          return;
        }
        assert.deepEqual(parsed, {
          kind: 'progress',
          channel: want.channel,
          command: values[0],
          json: formatMessage(values),
          terminal: values[0] === 'FINISHED',
        });
        // The JSON is valid and holds exactly the frames' text under the protocol's keys.
        const keys = ['command', 'task_id', 'task_state'].slice(0, values.length);
        assert.deepEqual(
          JSON.parse(parsed.json),
          Object.fromEntries(keys.map((k, i) => [k, values[i]])),
        );
        assert.match(parsed.json, /^[\x20-\x7e]*$/);
        relayed += 1;
      }),
      { numRuns: 20_000 },
    );
    // Both sides were really explored.
    assert.ok(relayed > 1000 && dropped > 1000, `${relayed} relayed, ${dropped} dropped`);
  });
});
