/**
 * The .deb for real: `make deb`, `dpkg -i`, the installed command relays a message as the
 * `recodex` user, then `dpkg --purge` and the machine is as it was before.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChildMonitor, relayOneJob, temporaryConfig } from '../helpers/packaged-monitor';
import { have, run } from '../helpers/process';
import { withTimeout } from '../helpers/ws-client';

const ROOT = join(__dirname, '..', '..', '..');
const PACKAGE = 'recodex-monitor';
const LOG_DIR = '/var/log/recodex';
/** Everything the package installs or its scripts create, checked after the purge. */
const INSTALLED_PATHS = [
  '/usr/bin/recodex-monitor',
  '/usr/lib/recodex-monitor',
  '/lib/systemd/system/recodex-monitor.service',
  '/etc/recodex/monitor',
  '/usr/share/doc/recodex-monitor',
];

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root: it installs the package with dpkg -i';
  if (!have('dpkg') || !have('dpkg-deb')) return 'dpkg is not installed: not a Debian system';
  return false;
}

interface MachineState {
  readonly user: boolean;
  readonly group: boolean;
  readonly logDir: boolean;
  readonly etcRecodex: boolean;
}

async function machineState(): Promise<MachineState> {
  return {
    user: (await run('getent', ['passwd', 'recodex'])).code === 0,
    group: (await run('getent', ['group', 'recodex'])).code === 0,
    logDir: existsSync(LOG_DIR),
    etcRecodex: existsSync('/etc/recodex'),
  };
}

async function isInstalled(): Promise<boolean> {
  const status = await run('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', PACKAGE]);
  return status.code === 0 && !status.stdout.startsWith('un') && status.stdout.trim() !== '';
}

/** dpkg takes a lock that apt on the same machine may hold for a while: wait for it. */
async function dpkg(args: string[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const result = await run('dpkg', args, { timeoutMs: 300_000 });
    if (result.code === 0) return;
    if (!/lock/i.test(result.stderr) || Date.now() > deadline) {
      assert.fail(
        `dpkg ${args.join(' ')} failed (${result.code}):\n${result.stdout}${result.stderr}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Removes what the package's scripts created and the purge deliberately keeps (the user). */
async function restore(state: MachineState): Promise<void> {
  if (await isInstalled()) await dpkg(['--purge', PACKAGE]);
  if (!state.user && (await run('getent', ['passwd', 'recodex'])).code === 0) {
    await run('userdel', ['recodex']);
  }
  if (!state.group && (await run('getent', ['group', 'recodex'])).code === 0) {
    await run('groupdel', ['recodex']);
  }
  if (!state.logDir) rmSync(LOG_DIR, { recursive: true, force: true });
  if (!state.etcRecodex) rmSync('/etc/recodex', { recursive: true, force: true });
}

describe('the Debian package', { skip: skipReason() }, () => {
  let state: MachineState;
  let deb: string;
  let touched = false;
  const configs: string[] = [];

  before(async () => {
    state = await machineState();
    if (await isInstalled()) {
      throw new Error(`${PACKAGE} is installed on this machine; the test would purge it`);
    }
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
    const made = await run('make', ['-s', 'deb'], { cwd: ROOT, timeoutMs: 600_000 });
    assert.equal(made.code, 0, `make deb failed:\n${made.stdout}${made.stderr}`);
    deb = join(
      ROOT,
      'dist',
      'packages',
      `${PACKAGE}_${version}-${process.env.RELEASE ?? 1}_${arch}.deb`,
    );
    assert.ok(existsSync(deb), `make deb did not produce ${deb}`);
  });

  after(async () => {
    for (const config of configs) rmSync(join(config, '..'), { recursive: true, force: true });
    if (touched) await restore(state);
  });

  it('declares the supported Node.js range and the config as a conffile', async () => {
    const depends = (await run('dpkg-deb', ['-f', deb, 'Depends'])).stdout;
    assert.match(depends, /nodejs \(>= 18\), nodejs \(<< 21\)/);
    const conffiles = (await run('dpkg-deb', ['-I', deb, 'conffiles'])).stdout;
    assert.equal(conffiles.trim(), '/etc/recodex/monitor/config.yml');
    const contents = (await run('dpkg-deb', ['-c', deb])).stdout;
    for (const path of [
      './usr/bin/recodex-monitor',
      './usr/lib/recodex-monitor/dist/src/cli.js',
      './usr/lib/recodex-monitor/node_modules/zeromq/package.json',
      './lib/systemd/system/recodex-monitor.service',
      './etc/recodex/monitor/config.yml',
    ]) {
      assert.ok(contents.includes(` ${path}\n`), `${path} is not in the package`);
    }
    // Development dependencies stay out.
    assert.doesNotMatch(contents, /node_modules\/(typescript|eslint|prettier)\//);
  });

  it('installs with dpkg -i and creates the recodex user, group and log directory', async (t) => {
    touched = true;
    if (await supportedNodejsInstalled()) {
      await dpkg(['-i', deb]);
    } else {
      // Node.js came from elsewhere (a tarball, nvm): dpkg cannot see it, and installing
      // Debian's would replace it. Everything but that one dependency is still checked.
      t.diagnostic('no dpkg-installed nodejs 18 or 20 here: installing with --ignore-depends');
      await dpkg(['-i', '--ignore-depends=nodejs', deb]);
    }
    assert.ok(await isInstalled());
    const user = (await run('getent', ['passwd', 'recodex'])).stdout.split(':');
    assert.ok(Number(user[2]) < 1000, `recodex is not a system user: uid ${user[2]}`);
    assert.match(user[6], /nologin/);
    const group = (await run('getent', ['group', 'recodex'])).stdout.split(':');
    const uid = Number(user[2]);
    const gid = Number(group[2]);
    if (!state.logDir) {
      const log = statSync(LOG_DIR);
      assert.deepEqual([log.uid, log.gid, log.mode & 0o777], [uid, gid, 0o750]);
    }
    const config = statSync('/etc/recodex/monitor/config.yml');
    assert.deepEqual([config.uid, config.gid, config.mode & 0o777], [0, gid, 0o640]);
    assert.equal(
      readFileSync('/etc/recodex/monitor/config.yml', 'utf8'),
      readFileSync(join(ROOT, 'etc', 'config.yml'), 'utf8'),
    );
  });

  it('keeps an edited config when the package is installed again, as on an upgrade', async () => {
    const path = '/etc/recodex/monitor/config.yml';
    const original = readFileSync(path, 'utf8');
    const edited = original.replace("level: 'info'", "level: 'debug'");
    assert.notEqual(edited, original);
    writeFileSync(path, edited);
    await dpkg(['-i', deb]);
    assert.equal(readFileSync(path, 'utf8'), edited);
    assert.equal(statSync(path).mode & 0o777, 0o640);
  });

  it('relays a job end to end with /usr/bin/recodex-monitor run as recodex', async (t) => {
    // The wrapper insists on the distribution's Node.js; without one, run the installed code
    // on this Node.js instead.
    const [command, args] = existsSync('/usr/bin/node')
      ? ['/usr/bin/recodex-monitor', []]
      : [process.execPath, ['/usr/lib/recodex-monitor/dist/src/cli.js']];
    if (command === process.execPath) t.diagnostic(`no /usr/bin/node: running ${command}`);
    const uid = Number((await run('id', ['-u', 'recodex'])).stdout);
    const gid = Number((await run('id', ['-g', 'recodex'])).stdout);
    const logFile = join(LOG_DIR, 'monitor.log');
    const config = temporaryConfig(logFile);
    configs.push(config);
    const child = new ChildMonitor(
      spawn(command, [...args, '-c', config], {
        uid,
        gid,
        cwd: '/',
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      await relayOneJob(() => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''));
      child.stop('SIGTERM');
      assert.equal(await withTimeout(child.exited, 10_000, 'the exit'), 0, child.output);
      assert.equal(statSync(logFile).uid, uid, 'the log file belongs to recodex');
    } finally {
      child.stop('SIGKILL');
    }
  });

  it(
    'installs a unit that systemd-analyze verify accepts',
    {
      skip: have('systemd-analyze') ? false : 'systemd-analyze is not installed',
    },
    async () => {
      const verify = await run('systemd-analyze', [
        'verify',
        '/lib/systemd/system/recodex-monitor.service',
      ]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.equal(verify.stderr + verify.stdout, '');
    },
  );

  it("runs on Debian's own Node.js 18 as well", async (t) => {
    const node18 = await debianNode18();
    if (typeof node18 === 'string') {
      t.skip(node18);
      return;
    }
    const config = temporaryConfig(undefined);
    configs.push(config);
    // Debian's Node.js 18 reads its bundled JavaScript from /usr/share/nodejs: lay the extracted
    // packages over /usr/share in a private mount namespace, so that the host stays untouched.
    const script =
      'mount -t overlay overlay -o "lowerdir=$1/usr/share:/usr/share" /usr/share && ' +
      'LD_LIBRARY_PATH="$1/usr/lib/$2" exec "$1/usr/bin/node" ' +
      '/usr/lib/recodex-monitor/dist/src/cli.js -c "$3"';
    const child = new ChildMonitor(
      spawn('unshare', ['-m', 'sh', '-c', script, 'sh', node18.root, node18.multiarch, config], {
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    try {
      await relayOneJob(() => child.output);
      assert.match(child.output, /listening/);
      child.stop('SIGTERM');
      assert.equal(await withTimeout(child.exited, 10_000, 'the exit'), 0, child.output);
    } finally {
      child.stop('SIGKILL');
    }
  });

  it('purges without a trace: files, log directory, user and group as they were', async () => {
    await dpkg(['--purge', PACKAGE]);
    assert.equal(await isInstalled(), false);
    for (const path of INSTALLED_PATHS) assert.equal(existsSync(path), false, `${path} remains`);
    assert.equal(existsSync(LOG_DIR), state.logDir, `${LOG_DIR} existence changed`);
    assert.equal(existsSync('/etc/recodex'), state.etcRecodex, '/etc/recodex existence changed');
    const helperState = await run('find', [
      '/var/lib/systemd/deb-systemd-helper-enabled',
      '-name',
      '*recodex-monitor*',
    ]);
    assert.equal(helperState.stdout, '', 'deb-systemd-helper state remains');
    // Debian keeps system users on purge; the test removes the ones it made.
    await restore(state);
    assert.deepEqual(await machineState(), state);
  });
});

/** Whether dpkg knows an installed nodejs that satisfies the package's Depends. */
async function supportedNodejsInstalled(): Promise<boolean> {
  const query = await run('dpkg-query', ['-W', '-f=${db:Status-Abbrev} ${Version}', 'nodejs']);
  const [status, version] = query.stdout.trim().split(/\s+/);
  if (query.code !== 0 || status !== 'ii' || version === undefined) return false;
  const within = async (op: string, bound: string) =>
    (await run('dpkg', ['--compare-versions', version, op, bound])).code === 0;
  return (await within('ge', '18')) && (await within('lt', '21'));
}

interface Node18 {
  readonly root: string;
  readonly multiarch: string;
}

/**
 * Debian's Node.js 18 and whatever it needs that is not installed here, downloaded with apt
 * and extracted, never installed (it would replace this machine's Node.js). Cached in
 * spec-artifacts/. A string says why it is not available.
 */
async function debianNode18(): Promise<Node18 | string> {
  if (!have('apt-get') || !have('unshare')) return 'apt-get or unshare is not installed';
  const madison = (await run('apt-cache', ['madison', 'nodejs'])).stdout;
  const version = /^\s*nodejs \| (18\.[^ ]+) \|/m.exec(madison)?.[1];
  if (version === undefined) return 'apt knows no Node.js 18 package (not Debian bookworm?)';
  const multiarch = (await run('dpkg-architecture', ['-qDEB_HOST_MULTIARCH'])).stdout.trim();
  if (multiarch === '') return 'dpkg-architecture is not installed';
  const cache = join(ROOT, 'spec-artifacts', `debian-nodejs-${version}`);
  const root = join(cache, 'root');
  if (!existsSync(join(root, 'usr', 'bin', 'node'))) {
    rmSync(cache, { recursive: true, force: true });
    const closure = await run('apt-cache', [
      'depends',
      '--recurse',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      `nodejs=${version}`,
    ]);
    const installed = new Set(
      (await run('dpkg-query', ['-W', '-f=${db:Status-Abbrev} ${Package}\n'])).stdout
        .split('\n')
        .filter((line) => line.startsWith('ii'))
        .map((line) => line.split(' ').pop()),
    );
    const missing = [
      ...new Set(closure.stdout.split('\n').filter((line) => /^[a-z0-9]/.test(line))),
    ].filter((name) => name !== 'nodejs' && !installed.has(name));
    const downloads = join(cache, 'debs');
    await run('mkdir', ['-p', downloads]);
    // apt's sandbox user cannot write here; downloading as root is what we want.
    const fetched = await run(
      'apt-get',
      ['download', '-o', 'APT::Sandbox::User=root', `nodejs=${version}`, ...missing],
      { cwd: downloads, timeoutMs: 180_000 },
    );
    if (fetched.code !== 0) return `apt-get download failed: ${fetched.stderr.trim()}`;
    for (const name of (await run('ls', [downloads])).stdout.split('\n').filter(Boolean)) {
      const extracted = await run('dpkg-deb', ['-x', join(downloads, name), root]);
      if (extracted.code !== 0) return `dpkg-deb -x ${name} failed: ${extracted.stderr}`;
    }
  }
  const probe = await run('unshare', [
    '-m',
    'sh',
    '-c',
    'mount -t overlay overlay -o "lowerdir=$1/usr/share:/usr/share" /usr/share && ' +
      'LD_LIBRARY_PATH="$1/usr/lib/$2" "$1/usr/bin/node" -p process.versions.modules',
    'sh',
    root,
    multiarch,
  ]);
  if (probe.code !== 0) return `cannot run the extracted Node.js 18: ${probe.stderr.trim()}`;
  assert.equal(probe.stdout.trim(), '108', 'Node.js 18 has module ABI 108');
  return { root, multiarch };
}
