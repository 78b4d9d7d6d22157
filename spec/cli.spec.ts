import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CliProcess, runCli } from './helpers/cli-process';
import { FakeBroker } from './helpers/broker';
import { RecordingClient, withTimeout } from './helpers/ws-client';

const directory = mkdtempSync(join(tmpdir(), 'monitor-cli-'));
let count = 0;
function configFile(text: string): string {
  const path = join(directory, `config-${++count}.yml`);
  writeFileSync(path, text);
  return path;
}

/** A config on free ports; the monitor logs its bound ports, which the tests read. */
function ephemeralConfig(extra = ''): string {
  return configFile(
    `websocket_uri: ["127.0.0.1", 0]\nzeromq_uri: ["127.0.0.1", 0]\nmetrics_uri: ["127.0.0.1", 0]\n` +
      `logger: {level: debug}\n${extra}`,
  );
}

const LISTENING =
  /listening for WebSockets on 127\.0\.0\.1:(\d+), for the broker on tcp:\/\/127\.0\.0\.1:(\d+)/;

async function startCli(extra = '') {
  const cli = new CliProcess(['-c', ephemeralConfig(extra)]);
  const [, wsPort, zmqPort] = await cli.waitForStderr(LISTENING);
  return { cli, url: `ws://127.0.0.1:${wsPort}/`, broker: new FakeBroker(Number(zmqPort)) };
}

describe('recodex-monitor command', () => {
  it('prints help with the config option', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /-c, --config/);
    assert.match(result.stdout, /--version/);
  });

  it('prints the package version', async () => {
    const result = await runCli(['--version']);
    const { version } = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
    ) as { version: string };
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), version);
  });

  it('rejects unknown options', async () => {
    const result = await runCli(['--bogus']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unknown argument: bogus/);
  });

  for (const [name, text, pattern] of [
    [
      'a port out of range',
      'websocket_uri: ["127.0.0.1", 70000]\n',
      /websocket_uri\[1\]: must be from 0 to 65535/,
    ],
    ['an unknown log level', 'logger: {level: loud}\n', /logger\.level: must be one of/],
    ['text that is not YAML', 'zeromq_uri: [\n', /not valid YAML/],
  ] as const) {
    it(`exits 78 with one line naming the file and key for ${name}`, async () => {
      const path = configFile(text);
      const result = await runCli(['-c', path]);
      assert.equal(result.code, 78);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.ok(lines[0].startsWith(`recodex-monitor: config ${path}: `), lines[0]);
      assert.match(lines[0], pattern);
    });
  }

  it('exits 78 for a config file that does not exist', async () => {
    const result = await runCli(['-c', join(directory, 'nope.yml')]);
    assert.equal(result.code, 78);
    assert.match(result.stderr, /nope\.yml: cannot read: ENOENT/);
  });

  it('warns about unknown keys and runs', async () => {
    const { cli, broker } = await startCli('colour: blue\n');
    assert.match(cli.stderr, /\[WARNING\] config .*: unknown key colour is ignored/);
    broker.close();
    cli.kill('SIGTERM');
    assert.equal((await withTimeout(cli.exited, 5000, 'exit')).code, 0);
  });

  it('relays a job and shuts down cleanly on SIGTERM, closing clients with 1001', async () => {
    const { cli, url, broker } = await startCli();
    const client = new RecordingClient(url, 'job');
    await client.opened;
    await broker.send('job', 'STARTED');
    await client.waitForMessages(1);
    const started = Date.now();
    cli.kill('SIGTERM');
    const result = await withTimeout(cli.exited, 5000, 'exit');
    broker.close();
    assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null });
    assert.ok(Date.now() - started < 3000, 'exits within a second or two');
    assert.equal((await withTimeout(client.closed)).code, 1001);
    assert.match(result.stderr, /\[INFO\] shutting down: received SIGTERM/);
  });

  it('shuts down on SIGINT too', async () => {
    const { cli, broker } = await startCli();
    broker.close();
    cli.kill('SIGINT');
    const result = await withTimeout(cli.exited, 5000, 'exit');
    assert.equal(result.code, 0);
    assert.match(result.stderr, /shutting down: received SIGINT/);
  });

  it('shuts down on the exit command when allow_remote_exit is on', async () => {
    const { cli, broker } = await startCli('allow_remote_exit: true\n');
    await broker.send('0', 'exit');
    const result = await withTimeout(cli.exited, 5000, 'exit');
    broker.close();
    assert.equal(result.code, 0);
    assert.match(result.stderr, /shutting down: exit command from the broker side/);
  });

  it('exits 1 with a clear message when a port is taken', async () => {
    const { cli, url, broker } = await startCli();
    const port = new URL(url).port;
    const second = await runCli(['-c', configFile(`websocket_uri: ["127.0.0.1", ${port}]\n`)]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /\[CRITICAL\] cannot start: cannot listen for WebSockets on 127\.0\.0\.1:\d+/,
    );
    broker.close();
    cli.kill('SIGTERM');
    await cli.exited;
  });
});

describe('recodex-monitor --check-config', () => {
  it('exits 0 for a usable config, the deployed one included', async () => {
    const file = configFile(
      [
        '---',
        'websocket_uri: ["127.0.0.1", 4567]',
        'zeromq_uri: ["127.0.0.1", 7894]',
        'metrics_uri: ["127.0.0.1", 4568]',
        'logger:',
        '  file: "/var/log/recodex/monitor.log"',
        '  level: "debug"',
        '  max-size: 1048576',
        '  rotations: 3',
        '...',
      ].join('\n'),
    );
    const result = await runCli(['--check-config', '-c', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `config ${file}: OK\n`);
    assert.equal(result.stderr, '');
  });

  it('exits 0 but warns about unknown keys', async () => {
    const file = configFile('metrics_url: ["127.0.0.1", 9000]\n');
    const result = await runCli(['--check-config', '-c', file]);
    assert.equal(result.code, 0);
    assert.match(result.stderr, /unknown key metrics_url is ignored/);
  });

  it('exits 78 with one line naming the file and the key', async () => {
    const file = configFile('metrics_uri: ["127.0.0.1", "http"]\n');
    const result = await runCli(['--check-config', '-c', file]);
    assert.equal(result.code, 78);
    assert.equal(result.stdout, '');
    assert.equal(
      result.stderr,
      `recodex-monitor: config ${file}: metrics_uri[1]: must be a whole number from 0 to 65535, got "http"\n`,
    );
  });

  it('exits 78 when the file cannot be read or parsed', async () => {
    const missing = await runCli(['--check-config', '-c', join(directory, 'missing.yml')]);
    assert.equal(missing.code, 78);
    assert.match(missing.stderr, /^recodex-monitor: config .*missing\.yml: cannot read: ENOENT/);
    const broken = configFile('websocket_uri: [\n');
    const parsed = await runCli(['--check-config', '-c', broken]);
    assert.equal(parsed.code, 78);
    assert.match(parsed.stderr, /^recodex-monitor: config .*\.yml: not valid YAML/);
    assert.equal(parsed.stderr.split('\n').length, 2, 'one line');
  });

  it('needs a file to check', async () => {
    const result = await runCli(['--check-config']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Implications failed:\s+check-config -> config/);
  });
});

describe('recodex-monitor --help', () => {
  it('lists the admin tools, and each has its own help', async () => {
    const top = await runCli(['--help']);
    assert.equal(top.code, 0);
    for (const command of [
      'send <channel> <command>',
      'watch <channel>',
      'demo',
      '--check-config',
    ]) {
      assert.ok(top.stdout.includes(command), command);
    }
    const expected: Record<string, RegExp> = {
      send: /--zeromq[\s\S]*--timeout/,
      watch: /--url/,
      demo: /--step-ms[\s\S]*--jobs/,
    };
    for (const [command, options] of Object.entries(expected)) {
      const help = await runCli([command, '--help']);
      assert.equal(help.code, 0, command);
      assert.match(help.stdout, new RegExp(`^recodex-monitor ${command}`));
      assert.match(help.stdout, options);
    }
  });
});
