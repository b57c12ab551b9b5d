/** Defaulting is idempotent and pure (semantics.md §3). */
import t from 'tap';
import fc from 'fast-check';
import type { RawNetworkPolicy, RawObject, RawPeer, RawService, RawPod } from '../../src/manifests/decode.js';
import { applyDefaults } from '../../src/manifests/defaults.js';

const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const proto = opt(fc.constantFrom('TCP', 'UDP', 'SCTP'));
const npPort = fc.record({ protocol: proto, port: opt(fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('http', 'dns'))) }, { requiredKeys: [] });
const rule = fc.record({ ports: opt(fc.array(npPort, { maxLength: 3 })), from: opt(fc.constant<RawPeer[]>([{ podSelector: {} }])) }, { requiredKeys: [] });
const meta = fc.record({ name: fc.constantFrom('a', 'b'), namespace: opt(fc.constantFrom('x', '')), labels: opt(fc.dictionary(fc.constantFrom('k', 'l'), fc.constantFrom('v', ''))) }, { requiredKeys: ['name'] });

const netpol: fc.Arbitrary<RawNetworkPolicy> = fc.record({
  kind: fc.constant('NetworkPolicy' as const),
  apiVersion: fc.constant('networking.k8s.io/v1'),
  metadata: meta,
  spec: opt(
    fc.record(
      {
        podSelector: opt(fc.constant({})),
        ingress: opt(fc.array(rule, { maxLength: 2 })),
        egress: opt(fc.array(rule, { maxLength: 2 })),
        policyTypes: opt(fc.subarray(['Ingress', 'Egress'])),
      },
      { requiredKeys: [] },
    ),
  ),
});
const service: fc.Arbitrary<RawService> = fc.record({
  kind: fc.constant('Service' as const),
  apiVersion: fc.constant('v1'),
  metadata: meta,
  spec: fc.record({ ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }), protocol: proto, targetPort: opt(fc.constantFrom(8080, 'http')) }, { requiredKeys: ['port'] }), { maxLength: 3 }) }),
});
const pod: fc.Arbitrary<RawPod> = fc.record({
  kind: fc.constant('Pod' as const),
  apiVersion: fc.constant('v1'),
  metadata: meta,
  spec: fc.record({ containers: fc.array(fc.record({ ports: fc.array(fc.record({ containerPort: fc.integer({ min: 1, max: 65535 }), protocol: proto }, { requiredKeys: ['containerPort'] }), { maxLength: 2 }) }), { maxLength: 2 }) }),
});
const namespace: fc.Arbitrary<RawObject> = fc.record({ kind: fc.constant('Namespace' as const), apiVersion: fc.constant('v1'), metadata: meta });

t.test('applyDefaults is idempotent and does not mutate its input', async (t) => {
  fc.assert(
    fc.property(fc.oneof(netpol, service, pod, namespace), fc.constantFrom('default', 'prod'), (o, ns) => {
      const copy = structuredClone(o);
      const once = applyDefaults(o, { defaultNamespace: ns });
      const twice = applyDefaults(once, { defaultNamespace: ns });
      t.same(o, copy);
      return JSON.stringify(once) === JSON.stringify(twice);
    }),
    { numRuns: 500 },
  );
  t.pass('idempotent');
});
