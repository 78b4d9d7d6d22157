/** etc/recodex-monitor.service: what systemd thinks of it, through packaging/verify-unit.sh. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { have, run } from '../helpers/process';

const ROOT = join(__dirname, '..', '..', '..');
const UNIT = join(ROOT, 'etc', 'recodex-monitor.service');
const VERIFY = join(ROOT, 'packaging', 'verify-unit.sh');

describe('the systemd unit', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'recodex-unit-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const unit = readFileSync(UNIT, 'utf8');

  it('runs as recodex, restarts on failure, reloads with SIGHUP, and leaves V8 its JIT', () => {
    assert.match(unit, /^User=recodex$/m);
    assert.match(unit, /^Group=recodex$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(
      unit,
      /^ExecStart=\/usr\/bin\/recodex-monitor -c \/etc\/recodex\/monitor\/config\.yml$/m,
    );
    assert.match(unit, /^ReadWritePaths=\/var\/log\/recodex$/m);
    // V8 writes machine code into memory it then executes: this setting kills the process.
    assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=(yes|true|1)/m);
  });

  const analyze = have('systemd-analyze') ? false : 'systemd-analyze is not installed';

  it(
    'passes systemd-analyze verify with an exposure of at most 1.5',
    { skip: analyze },
    async () => {
      const result = await run(VERIFY, [UNIT]);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /systemd-analyze verify: no complaints/);
      const exposure = /Overall exposure level for recodex-monitor\.service: (\d+\.\d)/.exec(
        result.stdout,
      );
      assert.ok(exposure !== null, result.stdout);
      assert.ok(Number(exposure[1]) <= 1.5, `exposure ${exposure[1]}`);
    },
  );

  it('the check rejects a unit without the sandbox', { skip: analyze }, async () => {
    const bare = join(scratch, 'bare.service');
    writeFileSync(bare, '[Service]\nExecStart=/usr/bin/recodex-monitor\nUser=recodex\n');
    const result = await run(VERIFY, [bare]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /exposure above 1\.5/);
  });

  it('the check rejects a setting that systemd does not know', { skip: analyze }, async () => {
    const typo = join(scratch, 'typo.service');
    writeFileSync(typo, unit.replace('ProtectHome=yes', 'ProtectHomes=yes'));
    const result = await run(VERIFY, [typo]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Unknown key( name)? '?ProtectHomes'?/);
  });
});
