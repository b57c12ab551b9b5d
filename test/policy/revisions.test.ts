import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { labFiles } from '../../src/lab/lab.js';
import { PolicyRevisions } from '../../src/policy/revisions.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kpf-rev-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('a new revision is published whole; a failing compile keeps the one in force', async (t) => {
  const revs = new PolicyRevisions({ shared: false });
  t.equal(revs.published, null);
  const r1 = await revs.applyManifests(labFiles(1));
  t.ok(r1.ok);
  t.equal(revs.published?.revision, 1);
  const first = revs.published;

  // invalid manifests: nothing is compiled, revision 1 stays
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x}\nspec: {ingress: [{from: [{}]}]}\n');
  const r2 = await revs.applyManifests([bad]);
  t.notOk(r2.ok);
  if (!r2.ok) t.match(r2.error.message, /must specify a peer/);
  t.equal(revs.published, first, 'the previous revision is still in force');

  // a policy map over its cap: rejected too
  const tight = new PolicyRevisions({ shared: false, policyMapMax: 1 });
  t.ok((await tight.applyManifests(labFiles(0))).ok);
  const over = await tight.applyManifests(labFiles(3));
  t.notOk(over.ok);
  if (!over.ok) t.match(over.error.message, /policy map of prod-nginx\/.* would need more than 1 entries/);
  t.equal(tight.published?.revision, 1);
  t.equal(tight.rejected, 1);

  const r3 = await revs.applyManifests(labFiles(4));
  t.ok(r3.ok);
  t.equal(revs.published?.revision, 2, 'revisions count successful compiles');
  t.equal(revs.published?.snapshot.revision, 2, 'the snapshot carries its revision (verdict cache and conntrack stamps)');
  t.equal(revs.rejected, 1);
  t.equal(revs.applied, 2);
});
