/**
 * packet/fast4.ts against the general decoder: whenever Fast4.parse accepts a frame, decode() returns OK for it with
 * the same fields and nothing the fast path ignores (truncation, fragments, options, VLAN, inner headers). Checked on
 * hand-made edge cases and on fast-check mutations of valid TCP/UDP frames (any byte of the headers, the captured
 * and wire lengths, the link type).
 */
import t, { type Test } from 'tap';
import fc from 'fast-check';
import { DecodeStatus } from '../../src/core/enums.js';
import { FlowKey } from '../../src/core/flow-key.js';
import { decode } from '../../src/packet/decode.js';
import { Fast4 } from '../../src/packet/fast4.js';
import { ethernet, ipv4, tcp, udp, vlanTci, cat, type Bytes } from '../fixtures/captures/builders.js';

const f = new Fast4();
const k = new FlowKey();

/** Fast4's answer; when it accepts, the decoder must agree field by field. Returns whether Fast4 accepted. */
function agree(t: Test, lt: number, b: Bytes, off: number, cap: number, wire: number, what: string): boolean {
  const ok = f.parse(lt, b, off, cap, wire);
  if (!ok) return false;
  const st = decode(lt, b, off, cap, wire, k);
  const same =
    st === DecodeStatus.OK &&
    k.family === 4 &&
    k.truncated === 0 &&
    k.frag === 0 &&
    k.innerFamily === 0 &&
    k.proto === f.proto &&
    (k.src0 | k.src1 | k.src2) === 0 &&
    (k.dst0 | k.dst1 | k.dst2) === 0 &&
    k.src3 === f.src >>> 0 &&
    k.dst3 === f.dst >>> 0 &&
    k.sport === f.sport &&
    k.dport === f.dport &&
    f.ports === ((f.sport << 16) | f.dport) &&
    k.ipLen === f.ipLen &&
    (f.proto === 6 ? k.tcpFlags === f.tcpFlags : f.tcpFlags === 0);
  if (!same) t.fail(`${what}: fast4 accepted but decode gave status ${st} proto ${k.proto} truncated ${k.truncated} frag ${k.frag}`);
  return true;
}

const tcpFrame = () => ethernet(0x0800, ipv4({ src: '10.244.1.2', dst: '10.244.2.3', proto: 6 }, tcp({ sport: 40000, dport: 8080, flags: 0x10 })));
const udpFrame = () => ethernet(0x0800, ipv4({ src: '192.168.7.9', dst: '10.96.0.10', proto: 17 }, udp(53001, 53, new Uint8Array(12))));

t.test('accepts the common frames, with the decoder\'s fields', async (t) => {
  for (const [name, fr] of [['tcp', tcpFrame()], ['udp', udpFrame()]] as const) {
    t.ok(agree(t, 1, fr, 0, fr.length, fr.length, name), `${name} accepted`);
    // padded to the Ethernet minimum: the IP total length bounds the datagram
    const padded = cat(fr, new Uint8Array(64 - fr.length > 0 ? 64 - fr.length : 6));
    t.ok(agree(t, 1, padded, 0, padded.length, padded.length + 4, `${name} padded`), `${name} padded accepted`);
    // raw IPv4 link types, and an offset inside a larger buffer
    const ip = fr.subarray(14);
    t.ok(agree(t, 101, ip, 0, ip.length, ip.length, `${name} raw`), `${name} LINKTYPE_RAW accepted`);
    t.ok(agree(t, 228, ip, 0, ip.length, ip.length, `${name} ipv4`), `${name} LINKTYPE_IPV4 accepted`);
    const big = cat(new Uint8Array(7), fr, new Uint8Array(9));
    t.ok(agree(t, 1, big, 7, fr.length, fr.length, `${name} offset`), `${name} at an offset accepted`);
  }
  t.equal(f.src >>> 0, 0xc0a80709, 'source word read big-endian');
  t.equal(f.ports, (53001 << 16) | 53, 'ports word');
});

t.test('leaves everything else to the decoder', async (t) => {
  const fr = tcpFrame();
  const cases: Array<[string, number, Bytes, number, number]> = [
    ['truncated capture', 1, fr, fr.length - 1, fr.length],
    ['VLAN tag', 1, ethernet(0x8100, cat(vlanTci(10, 0x0800), fr.subarray(14))), fr.length + 4, fr.length + 4],
    ['IP options', 1, ethernet(0x0800, ipv4({ proto: 6, options: new Uint8Array([1, 1, 1, 1]) }, tcp({ flags: 0x10 }))), 58, 58],
    ['first fragment', 1, ethernet(0x0800, ipv4({ proto: 6, mf: true }, tcp({ flags: 0x10 }))), 54, 54],
    ['non-first fragment', 1, ethernet(0x0800, ipv4({ proto: 6, fragOff: 16 }, tcp({ flags: 0x10 }))), 54, 54],
    ['ICMP', 1, ethernet(0x0800, ipv4({ proto: 1 }, new Uint8Array([8, 0, 0, 0, 0, 1, 0, 1]))), 42, 42],
    ['SCTP', 1, ethernet(0x0800, ipv4({ proto: 132 }, new Uint8Array(28))), 62, 62],
    ['SLL link type', 113, fr, fr.length, fr.length],
  ];
  for (const [name, lt, b, cap, wire] of cases) t.notOk(f.parse(lt, b, 0, Math.min(cap, b.length), wire), name);
  const bad = tcpFrame();
  bad[14 + 20 + 12] = 0x40; // TCP data offset 4 words
  t.notOk(f.parse(1, bad, 0, bad.length, bad.length), 'TCP data offset < 5');
  t.equal(decode(1, bad, 0, bad.length, bad.length, k), DecodeStatus.TCP_BAD_HEADER);
  const badUdp = udpFrame();
  badUdp[14 + 20 + 5] = 7; // UDP length 7
  t.notOk(f.parse(1, badUdp, 0, badUdp.length, badUdp.length), 'UDP length < 8');
  t.notOk(f.parse(1, fr, 0, fr.length + 1, fr.length + 1), 'capture beyond the buffer');
  t.ok(agree(t, 1, fr, 0, fr.length, 300_000, 'absurd wire'), 'absurd wire length: both use the captured length (P13)');
  t.ok(agree(t, 1, fr, 0, fr.length, fr.length - 2, 'wire below capture'), 'wire length below the captured length: both trust the capture (P12)');
});

t.test('property: on mutated frames, every frame Fast4 accepts decodes identically', async (t) => {
  let accepted = 0;
  let runs = 0;
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.tuple(fc.nat(60), fc.nat(255)), { maxLength: 4 }),
      fc.integer({ min: -6, max: 6 }),
      fc.integer({ min: -6, max: 300_000 }),
      fc.constantFrom(1, 1, 1, 101, 228, 113),
      (isTcp, flips, capDelta, wireExtra, lt) => {
        runs++;
        const base = isTcp ? tcpFrame() : udpFrame();
        const b = lt === 1 ? base : base.slice(14);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        const cap = Math.max(0, Math.min(b.length, b.length + capDelta));
        const wire = wireExtra < 0 ? cap + wireExtra : cap + (wireExtra % 3 === 0 ? wireExtra : wireExtra % 5);
        if (agree(t, lt, b, 0, cap, wire, `lt ${lt} flips ${JSON.stringify(flips)} cap ${cap} wire ${wire}`)) accepted++;
        return true;
      },
    ),
    { numRuns: 20_000, seed: 5 },
  );
  t.ok(accepted > runs / 10, `a good share of the mutations were accepted (${accepted} of ${runs}), so the check is not vacuous`);
});
