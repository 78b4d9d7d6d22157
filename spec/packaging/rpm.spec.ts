/**
 * The .rpm, built here with Debian's rpmbuild: its file list, attributes and dependencies as
 * `rpm -qp` reads them, and its payload, unpacked into a scratch root, relays a job.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildMonitor, relayOneJob, temporaryConfig } from '../helpers/packaged-monitor';
import { have, run } from '../helpers/process';
import { withTimeout } from '../helpers/ws-client';

const ROOT = join(__dirname, '..', '..', '..');

/** Every path the package may own: anything else (build-id links, stray files) is a bug. */
const ALLOWED = [
  /^\/usr\/bin\/recodex-monitor$/,
  /^\/usr\/lib\/recodex-monitor(\/.*)?$/,
  /^\/usr\/lib\/systemd\/system\/recodex-monitor\.service$/,
  /^\/etc\/recodex(\/monitor(\/config\.yml)?)?$/,
  /^\/var\/log\/recodex$/,
  /^\/usr\/share\/doc\/recodex-monitor(\/.*)?$/,
  /^\/usr\/share\/licenses\/recodex-monitor\/LICENSE$/,
];

describe(
  'the RPM package',
  { skip: have('rpmbuild') ? false : 'rpmbuild is not installed' },
  () => {
    let rpm: string;
    const scratch: string[] = [];

    before(async () => {
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
      const arch = (await run('uname', ['-m'])).stdout.trim();
      const made = await run('make', ['-s', 'rpm'], { cwd: ROOT, timeoutMs: 600_000 });
      assert.equal(made.code, 0, `make rpm failed:\n${made.stdout}${made.stderr}`);
      rpm = join(
        ROOT,
        'dist',
        'packages',
        `recodex-monitor-${version}-${process.env.RELEASE ?? 1}.${arch}.rpm`,
      );
      assert.ok(existsSync(rpm), `make rpm did not produce ${rpm}`);
    });

    after(() => {
      for (const path of scratch) rmSync(path, { recursive: true, force: true });
    });

    it('lists exactly the installed files (rpm -qlp)', async () => {
      const files = (await run('rpm', ['-qlp', rpm])).stdout.trim().split('\n');
      for (const path of [
        '/usr/bin/recodex-monitor',
        '/usr/lib/recodex-monitor/dist/src/cli.js',
        '/usr/lib/recodex-monitor/package.json',
        '/usr/lib/recodex-monitor/node_modules/zeromq/package.json',
        '/usr/lib/recodex-monitor/node_modules/uWebSockets.js/package.json',
        '/usr/lib/systemd/system/recodex-monitor.service',
        '/etc/recodex/monitor/config.yml',
        '/var/log/recodex',
      ]) {
        assert.ok(files.includes(path), `${path} is not in the package`);
      }
      const stray = files.filter((path) => !ALLOWED.some((allowed) => allowed.test(path)));
      assert.deepEqual(stray, []);
      assert.equal(
        files.filter((path) => /node_modules\/(typescript|eslint|prettier)\//.test(path)).length,
        0,
        'development dependencies are packaged',
      );
    });

    it('marks the config noreplace and hands it and the log directory to recodex', async () => {
      const attributes = (
        await run('rpm', [
          '-qp',
          '--qf',
          '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]',
          rpm,
        ])
      ).stdout;
      assert.match(
        attributes,
        /^-rw-r----- root:recodex cn \/etc\/recodex\/monitor\/config\.yml$/m,
      );
      assert.match(attributes, /^drwxr-x--- recodex:recodex {2}\/var\/log\/recodex$/m);
      assert.match(attributes, /^-rwxr-xr-x root:root {2}\/usr\/bin\/recodex-monitor$/m);
    });

    it('requires the distribution Node.js 18 or 20 and nothing the bundled binaries drag in', async () => {
      const requires = (await run('rpm', ['-qp', '--requires', rpm])).stdout;
      assert.match(requires, /^\(nodejs\(engine\) >= 18 with nodejs\(engine\) < 21\)$/m);
      // The loaders pick one prebuilt binary at run time: the others must not become requirements.
      assert.doesNotMatch(requires, /musl|GLIBC_2\.3[0-9]/);
      const scripts = (await run('rpm', ['-qp', '--scripts', rpm])).stdout;
      assert.match(scripts, /groupadd --system recodex/);
      assert.match(scripts, /useradd --system --gid recodex/);
    });

    it('unpacks into a payload that relays a job', async () => {
      const root = mkdtempSync(join(tmpdir(), 'recodex-rpm-'));
      scratch.push(root);
      assert.equal((await run('rpm', ['--root', root, '--initdb'])).code, 0);
      // No scripts and no dependencies: a scratch root, not a Fedora system.
      const unpacked = await run('rpm', ['-i', '--nodeps', '--noscripts', '--root', root, rpm]);
      assert.equal(unpacked.code, 0, unpacked.stderr);
      const config = temporaryConfig(undefined);
      scratch.push(join(config, '..'));
      const cli = join(root, 'usr', 'lib', 'recodex-monitor', 'dist', 'src', 'cli.js');
      const child = new ChildMonitor(
        spawn(process.execPath, [cli, '-c', config], { stdio: ['ignore', 'pipe', 'pipe'] }),
      );
      try {
        await relayOneJob(() => child.output);
        child.stop('SIGTERM');
        assert.equal(await withTimeout(child.exited, 10_000, 'the exit'), 0, child.output);
      } finally {
        child.stop('SIGKILL');
      }
    });
  },
);
