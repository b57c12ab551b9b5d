/**
 * Flow and decision types of the reference evaluator (policy/reference.ts).
 *
 * A Decision *is* its own explanation (the cyclonus/policy-assistant `DirectionResult` shape): per direction, which
 * policies isolate the endpoint, which rules allow the flow and, for the rules that do not, why not. Everything here
 * is plain JSON (strings, numbers, booleans, arrays, objects) so `kpf explain -o json` can print it as it is.
 */

/** L4 protocol of a flow: a name for the ones kpf knows, else the IP protocol number (47 GRE, 50 ESP, …). */
export type FlowProtocol = 'TCP' | 'UDP' | 'SCTP' | 'ICMP' | 'ICMPv6' | number;

/** One connection's first packet, addresses as text (any valid IPv4/IPv6 form; canonicalised on evaluation). */
export interface Flow {
  src: string;
  dst: string;
  protocol: FlowProtocol;
  /** TCP/UDP/SCTP source port */
  srcPort?: number;
  /** TCP/UDP/SCTP destination port */
  dstPort?: number;
  /** ICMP/ICMPv6 type and code */
  icmpType?: number;
  icmpCode?: number;
}

/** A rule of a policy: `spec.ingress[index]` or `spec.egress[index]` of `policy` (`namespace/name`). */
export interface RuleRef {
  policy: string;
  direction: 'ingress' | 'egress';
  index: number;
}

/** Why one rule of an isolating policy did not allow the flow. */
export interface RuleDenial {
  rule: RuleRef;
  /** which half of the rule failed (both when neither peers nor ports match) */
  failed: 'peer' | 'port' | 'peer+port';
  /** human text, e.g. `peer podSelector pod=b does not match x/c` */
  why: string;
}

/** Result of one direction (egress of the source, or ingress of the destination). */
export interface DirectionResult {
  direction: 'Ingress' | 'Egress';
  /** `namespace/name` of the pod whose policies were consulted; null when that end is not a pod */
  endpoint: string | null;
  /** false when the direction does not apply (that end is not a pod) or was bypassed */
  evaluated: boolean;
  /** at least one policy selects the pod with this direction in its policyTypes */
  isolated: boolean;
  /** the isolating policies (`namespace/name`), sorted */
  isolatedBy: string[];
  allowed: boolean;
  /** every rule that allows the flow (all of them, not just the first), in policy then rule order */
  allowedBy: RuleRef[];
  /** human text, e.g. `not isolated for egress: no policy selects it with Egress` */
  reason: string;
  /** per-rule why-not for the rules of the isolating policies that do not allow the flow */
  denials: RuleDenial[];
}

/** One end of a flow. */
export interface EndpointDesc {
  kind: 'pod' | 'node' | 'external' | 'service';
  /** `namespace/name` for pods and Services, the node name for nodes, the IP for external addresses */
  name: string;
  /** canonical IP text */
  ip: string;
}

/** Service DNAT applied to the flow (E21). */
export interface NatInfo {
  /** `namespace/name` */
  service: string;
  clusterIP: string;
  servicePort: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  /** `namespace/name` of the backend pod */
  backend: string;
  backendIP: string;
  backendPort: number;
}

export type Verdict = 'ALLOW' | 'DROP' | 'BYPASS';

/**
 * Why the verdict is what it is. `policy`: decided by NetworkPolicy evaluation and allowed;
 * `POLICY_DENIED`: decided by NetworkPolicy and denied; the BYPASS reasons name the bypass;
 * `SERVICE_BACKEND_NOT_FOUND`: the destination is a ClusterIP and DNAT found no usable backend (or the port is not a
 * port of the Service — `detail` tells which).
 */
export type DecisionReason =
  | 'policy'
  | 'POLICY_DENIED'
  | 'loopback'
  | 'node_ingress'
  | 'hairpin'
  | 'icmpv6_nd'
  | 'icmp_allow'
  | 'SERVICE_BACKEND_NOT_FOUND';

export interface Decision {
  verdict: Verdict;
  reason: DecisionReason;
  /** one line of human text saying why */
  detail: string;
  /** the flow as given, addresses canonicalised */
  flow: Flow;
  /** the flow policy was evaluated on (after Service DNAT); equal to `flow` without DNAT */
  effectiveFlow: Flow;
  /** source end (of the effective flow) */
  src: EndpointDesc;
  /** destination end of the effective flow (the backend pod after DNAT) */
  dst: EndpointDesc;
  /** the Service the flow was addressed to, when there was DNAT or a DNAT failure */
  service?: EndpointDesc;
  nat?: NatInfo;
  egress: DirectionResult;
  ingress: DirectionResult;
  /** the direction that denied first in evaluation order (egress before ingress), on POLICY_DENIED */
  deniedBy?: 'Egress' | 'Ingress';
  /** implementation-defined switches (semantics.md §6) and edge-case rows that applied, e.g. `E8 …` */
  notes: string[];
}
