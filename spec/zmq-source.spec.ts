import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { Router } from 'zeromq';
import { MAX_RECEIVE_FAILURES, ROUTING_ID, ZmqSource } from '../src/zmq-source';
import { FakeBroker } from './helpers/broker';
import { memoryLogger } from './helpers/memory-logger';
import { withTimeout } from './helpers/ws-client';

/** How many of the next receives fail. */
interface Failures {
  left: number;
}

/**
 * A real ROUTER whose receive fails while `failures.left` > 0: a receive error cannot be
 * provoked on a healthy socket from outside. (zeromq seals its sockets, hence the state
 * outside the instance.)
 */
function failingRouter(failures: Failures): Router {
  class FailingRouter extends Router {
    override async receive(): Promise<Buffer[]> {
      if (failures.left > 0) {
        failures.left -= 1;
        throw new Error('injected receive failure');
      }
      return super.receive();
    }
  }
  return new FailingRouter({ routingId: ROUTING_ID, linger: 0 });
}

describe('ZmqSource', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const close of cleanup.splice(0)) close();
  });

  async function source(socket?: Router) {
    const logger = memoryLogger();
    const zmq = new ZmqSource({ logger, socket });
    const { port } = await zmq.bind({ host: '127.0.0.1', port: 0 });
    const broker = new FakeBroker(port);
    cleanup.push(
      () => broker.close(),
      () => zmq.close(),
    );
    return { logger, zmq, broker, port };
  }

  it('logs a failed receive and goes on receiving', async () => {
    const { logger, zmq, broker } = await source(failingRouter({ left: 3 }));
    const received = firstValueFrom(zmq.frames$);
    await broker.send('job', 'STARTED');
    const frames = await withTimeout(received);
    assert.deepEqual(
      frames.slice(1).map((f) => f.toString()),
      ['job', 'STARTED'],
    );
    assert.deepEqual(
      logger.find('error', 'ZeroMQ receive failed').map((line) => line.split(':')[0]),
      [
        'ZeroMQ receive failed (1 in a row)',
        'ZeroMQ receive failed (2 in a row)',
        'ZeroMQ receive failed (3 in a row)',
      ],
    );
  });

  it('counts failures in a row only: a message in between starts the count again', async () => {
    const failures = { left: MAX_RECEIVE_FAILURES - 1 };
    const { zmq, broker } = await source(failingRouter(failures));
    const received = lastValueFrom(zmq.frames$.pipe(take(2), toArray()));
    await broker.send('job', 'STARTED');
    // Once the first run of failures is used up, arm a second one just short of the limit:
    // only the message in between keeps the two runs apart.
    while (failures.left > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    failures.left = MAX_RECEIVE_FAILURES - 1;
    await broker.send('job', 'FINISHED');
    const messages = await withTimeout(received);
    assert.deepEqual(
      messages.map((frames) => frames[2].toString()),
      ['STARTED', 'FINISHED'],
    );
  });

  it(`ends with an error after ${MAX_RECEIVE_FAILURES} failed receives in a row`, async () => {
    const { logger, zmq } = await source(failingRouter({ left: Infinity }));
    await assert.rejects(withTimeout(lastValueFrom(zmq.frames$)), /injected receive failure/);
    assert.equal(logger.find('error', 'ZeroMQ receive failed').length, MAX_RECEIVE_FAILURES - 1);
  });

  it('completes when the socket is closed', async () => {
    const { zmq } = await source();
    const ended = lastValueFrom(zmq.frames$, { defaultValue: 'completed' });
    zmq.close();
    assert.equal(await withTimeout(ended), 'completed');
  });
});
