/**
 * Regenerates the committed fixture captures in this directory, byte for byte (no clock, no randomness):
 *
 *   TS_NODE_TRANSPILE_ONLY=1 node --import @isaacs/ts-node-temp-fork-for-pr-2009/import captures/make-fixtures.ts
 *
 * Writes only `captures/*.pcap` / `*.pcapng` and prints each file's size and sha256. See captures/README.md.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as B from '../test/fixtures/captures/builders.js';

const here = dirname(fileURLToPath(import.meta.url));
const T0 = 1700000000; // 2023-11-14T22:13:20Z

/** Ethernet frames: the IPv4 and IPv6 samples, an ARP request, and one IPv4 frame with Ethernet padding. */
export function ethernetFrames(): Uint8Array[] {
  const v4 = B.sampleIPv4().map((p) => B.ethernet(0x0800, p));
  const v6 = B.sampleIPv6().map((p) => B.ethernet(0x86dd, p));
  const arp = B.ethernet(0x0806, B.cat(B.arp(), new Uint8Array(18)));
  const small = B.ipv4({ proto: 6, src: '10.244.1.7', dst: '10.244.2.9' }, B.tcp({ sport: 43512, dport: 5432, flags: 0x10 }));
  const padded = B.ethernet(0x0800, B.cat(small, new Uint8Array(6))); // 54 → 60 bytes
  return [...v4, ...v6, arp, padded];
}

function records(frames: Uint8Array[], nanos: boolean): B.PcapRecord[] {
  return frames.map((data, i) => ({ data, sec: T0 + i, frac: nanos ? 123456789 : 123456 }));
}

const files: Record<string, Uint8Array> = {};
const eth = ethernetFrames();
files['eth-le-usec.pcap'] = B.pcapFile(records(eth, false), { le: true });
files['eth-be-usec.pcap'] = B.pcapFile(records(eth, false), { le: false });
files['eth-le-nsec.pcap'] = B.pcapFile(records(eth, true), { le: true, nanos: true });
files['eth-be-nsec.pcap'] = B.pcapFile(records(eth, true), { le: false, nanos: true });

const v4 = B.sampleIPv4();
const v6 = B.sampleIPv6();
files['vlan-qinq.pcap'] = B.pcapFile(
  records(
    [
      B.ethernet(0x8100, B.cat(B.vlanTci(100, 0x0800), v4[0])),
      B.ethernet(0x88a8, B.cat(B.vlanTci(200, 0x8100), B.vlanTci(100, 0x0800), v4[2])),
      B.ethernet(0x8100, B.cat(B.vlanTci(100, 0x86dd), v6[0])),
    ],
    false,
  ),
);
files['sll.pcap'] = B.pcapFile(
  records([...v4.map((p) => B.cat(B.sll(0x0800, 4), p)), B.cat(B.sll(0x86dd), v6[0]), B.cat(B.sll(0x0806), B.arp())], false),
  { linkType: 113 },
);
files['sll2.pcap'] = B.pcapFile(
  records([...v4.map((p) => B.cat(B.sll2(0x0800), p)), B.cat(B.sll2(0x86dd), v6[1]), B.cat(B.sll2(0x8100), B.vlanTci(7, 0x0800), v4[3])], false),
  { linkType: 276 },
);
files['null.pcap'] = B.pcapFile(
  records([B.cat(B.nullHdr(2, true), v4[0]), B.cat(B.nullHdr(2, false), v4[1]), B.cat(B.nullHdr(30, true), v6[0]), B.cat(B.nullHdr(24, true), v6[2])], false),
  { linkType: 0 },
);
files['raw.pcap'] = B.pcapFile(records([...v4, ...v6], false), { linkType: 101 });
files['ipv4.pcap'] = B.pcapFile(records(v4, false), { linkType: 228 });
files['ipv6.pcap'] = B.pcapFile(records(v6, false), { linkType: 229 });

// pcapng: section 1 little-endian, two interfaces (Ethernet µs default; RAW ns with if_tsresol 9) + SPB + an NRB
// and an unknown block to skip; section 2 big-endian, one SLL2 interface with if_tsresol 2^-20 and if_tsoffset.
{
  const le = true;
  const s1 = B.cat(
    B.ngShb(le),
    B.ngIdb(le, 1, { snaplen: 262144 }),
    B.ngIdb(le, 101, { tsresol: 9 }),
    B.ngEpb(le, 0, BigInt(T0) * 1000000n + 1n, eth[0]),
    B.ngEpb(le, 1, BigInt(T0) * 1000000000n + 2000n, v4[2]),
    B.ngBlock(le, 4, new Uint8Array(8)), // NRB (empty record list + end) — skipped
    B.ngBlock(le, 0x7fff0001, new Uint8Array([1, 2, 3, 4])), // unknown block type — skipped
    B.ngSpb(le, eth[3]),
    B.ngEpb(le, 1, BigInt(T0 + 1) * 1000000000n, v6[0]),
  );
  const be = false;
  const s2 = B.cat(
    B.ngShb(be),
    B.ngIdb(be, 276, { tsresol: 0x80 | 20, tsoffset: 3600n }),
    B.ngEpb(be, 0, (BigInt(T0 - 3600 + 2) << 20n) | (1n << 19n), B.cat(B.sll2(0x0800), v4[1])),
    B.ngEpb(be, 0, (BigInt(T0 - 3600 + 3) << 20n) | 0n, B.cat(B.sll2(0x86dd), v6[1])),
  );
  files['multi-section.pcapng'] = B.cat(s1, s2);
}

for (const [name, data] of Object.entries(files)) {
  writeFileSync(join(here, name), data);
  console.log(`${name.padEnd(24)} ${String(data.length).padStart(5)} B  sha256 ${createHash('sha256').update(data).digest('hex').slice(0, 16)}`);
}
