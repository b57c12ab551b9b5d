/**
 * bin/kpf, the `kpf` command of package.json: a shell launcher that runs bin/kpf.js under Node.js without
 * NODE_EXTRA_CA_CERTS (Node parses that file while it starts, and kpf opens no TLS connection). It must pass the
 * arguments and the exit status through, work through a symlink (npm and npx link it from node_modules/.bin), and
 * leave every other variable alone.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LAUNCHER = join(ROOT, 'bin/kpf');
const built = (() => {
  try {
    accessSync(join(ROOT, 'dist/cli/main.js'));
    return true;
  } catch {
    return false;
  }
})();
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
// a file that is not there: Node warns at start-up that it could not load the extra certificates from it
const env = { ...process.env, NODE_EXTRA_CA_CERTS: join(tmpdir(), 'kpf-no-such-ca-file.pem') };

t.test('package.json names bin/kpf as the kpf command, and it is executable', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  t.equal(pkg.bin['kpf'], 'bin/kpf');
  t.doesNotThrow(() => accessSync(LAUNCHER, constants.X_OK));
});

t.test('bin/kpf runs kpf without NODE_EXTRA_CA_CERTS', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const direct = spawnSync(process.execPath, [join(ROOT, 'bin/kpf.js'), '--version'], { encoding: 'utf8', env });
  t.match(direct.stderr, /extra certs/i, 'node bin/kpf.js: Node reads the variable (the check below can fail)');
  const r = spawnSync(LAUNCHER, ['--version'], { encoding: 'utf8', env });
  t.equal(r.status, 0);
  t.equal(r.stdout, `kpf ${version}\n`);
  t.equal(r.stderr, '', 'no certificate warning: the variable was dropped');
});

t.test('bin/kpf passes arguments, output and exit status through, also from a symlink', { skip: built ? false : 'dist/ is not built (npm run build)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kpf-launcher-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const link = join(dir, 'kpf');
  symlinkSync(LAUNCHER, link);
  for (const cmd of [LAUNCHER, link]) {
    const bad = spawnSync(cmd, ['validate', '-f', join(ROOT, 'test/fixtures/cli/bad.yaml')], { encoding: 'utf8', env, cwd: dir });
    const same = spawnSync(process.execPath, [join(ROOT, 'bin/kpf.js'), 'validate', '-f', join(ROOT, 'test/fixtures/cli/bad.yaml')], { encoding: 'utf8', cwd: dir });
    t.not(same.status, 0, 'the fixture is invalid');
    t.equal(bad.status, same.status, `${cmd}: the exit status`);
    t.equal(bad.stdout, same.stdout, `${cmd}: the output`);
    t.equal(bad.stderr, same.stderr, `${cmd}: the errors`);
    const spaced = spawnSync(cmd, ['get', 'pods', '-A', '--lab', '-o', 'name'], { encoding: 'utf8', env, cwd: dir });
    t.equal(spaced.status, 0, `${cmd}: kpf get pods --lab`);
    t.match(spaced.stdout, /pod\//, `${cmd}: its output`);
  }
});
