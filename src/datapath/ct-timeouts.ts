/**
 * Conntrack timeouts per state, as three switchable profiles (runtime.md §2.1, `--profile=linux|cilium|calico`).
 *
 * Values are seconds in the tables below and nanoseconds in the {@link CtTimeouts} array the tables use
 * (index = {@link CtTimeout} class). Sources:
 *   linux   Documentation/networking/nf_conntrack-sysctl.rst (SCTP established 210 s since Linux 6.2 / 6.1.9 / 5.10.166)
 *   cilium  cilium-agent flags, pinned to Cilium >= 1.15 (after cilium/cilium#27665: established TCP 8000 s =
 *           2h13m20s; earlier releases used 21600 s). syn 60 (--bpf-ct-timeout-regular-tcp-syn), fin 10
 *           (-regular-tcp-fin), everything non-TCP 60 (-regular-any)
 *   calico  felix/bpf/conntrack/timeouts/timeouts.go defaults: TCPSynSent 20, TCPEstablished 3600, TCPFinsSeen 30,
 *           TCPResetSeen 40, UDPLastSeen 60, ICMPLastSeen 5, GenericIPLastSeen 600 (SCTP is generic there).
 *           Calico's CreationGracePeriod (10 s) is not modelled.
 *
 * Not modelled in any profile: Linux tcp_timeout_max_retrans / unacknowledged (300 s) — the flags-only state machine
 * (no sequence numbers) cannot detect retransmissions or unacknowledged data.
 */

/** Timeout classes (index into a {@link CtTimeouts} array). */
export const CtTimeout = {
  TCP_SYN_SENT: 0,
  TCP_SYN_RECV: 1,
  TCP_ESTABLISHED: 2,
  TCP_FIN_WAIT: 3,
  TCP_CLOSE_WAIT: 4,
  TCP_LAST_ACK: 5,
  TCP_TIME_WAIT: 6,
  TCP_CLOSE: 7,
  UDP_UNREPLIED: 8,
  UDP_STREAM: 9,
  ICMP: 10,
  ICMPV6: 11,
  SCTP_CLOSED: 12,
  SCTP_COOKIE_WAIT: 13,
  SCTP_COOKIE_ECHOED: 14,
  SCTP_ESTABLISHED: 15,
  SCTP_SHUTDOWN_SENT: 16,
  SCTP_SHUTDOWN_RECD: 17,
  SCTP_SHUTDOWN_ACK_SENT: 18,
  GENERIC: 19,
} as const;
export type CtTimeout = (typeof CtTimeout)[keyof typeof CtTimeout];

/** Number of timeout classes. */
export const CT_TIMEOUT_COUNT = 20;

/** Names of the profiles. */
export type CtProfile = 'linux' | 'cilium' | 'calico';

/** Per-class timeouts in nanoseconds (Float64Array of length {@link CT_TIMEOUT_COUNT}). */
export type CtTimeouts = Float64Array;

/** Seconds per class, in {@link CtTimeout} order. */
const SECONDS: Readonly<Record<CtProfile, readonly number[]>> = {
  //        SYN_S SYN_R  ESTAB   FIN_W CLOSE_W LAST_ACK TIME_W CLOSE  UDP_U UDP_S ICMP ICMP6 S_CL S_CW S_CE S_EST S_SS S_SR S_SAS GEN
  linux: [120, 60, 432000, 120, 60, 30, 120, 10, 30, 120, 30, 30, 10, 3, 3, 210, 3, 3, 3, 600],
  cilium: [60, 60, 8000, 10, 10, 10, 10, 10, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60],
  calico: [20, 20, 3600, 30, 30, 30, 30, 40, 60, 60, 5, 5, 600, 600, 600, 600, 600, 600, 600, 600],
};

/** Timeout table (ns) of a profile. Throws on an unknown profile name. */
export function ctTimeouts(profile: CtProfile = 'linux'): CtTimeouts {
  const s = SECONDS[profile];
  if (!s) throw new RangeError(`unknown conntrack profile ${String(profile)} (linux, cilium, calico)`);
  const out = new Float64Array(CT_TIMEOUT_COUNT);
  for (let i = 0; i < CT_TIMEOUT_COUNT; i++) out[i] = s[i]! * 1e9;
  return out;
}

/** Seconds of one class in one profile (documentation, tests). */
export function ctTimeoutSeconds(profile: CtProfile, cls: CtTimeout): number {
  return SECONDS[profile][cls]!;
}

/** Copy of a profile's table with some classes overridden (seconds), e.g. from a config file. */
export function ctTimeoutsWith(profile: CtProfile, overrides: Partial<Record<keyof typeof CtTimeout, number>>): CtTimeouts {
  const t = ctTimeouts(profile);
  for (const [name, sec] of Object.entries(overrides)) {
    const idx = (CtTimeout as Record<string, number>)[name];
    if (idx === undefined) throw new RangeError(`unknown conntrack timeout ${name}`);
    if (typeof sec !== 'number' || !(sec >= 0) || !Number.isFinite(sec)) throw new RangeError(`bad timeout ${name}=${String(sec)}`);
    t[idx] = sec * 1e9;
  }
  return t;
}
