/**
 * Expected truth tables of the e2e model (x, y, z × a, b, c), in the upstream PrettyPrint format
 * (kubernetes test/e2e/network/netpol/truthtable.go): header `-` then the destinations, `.` connected, `X` not.
 *
 * Each table is the upstream test's Reachability expectation (ExpectPeer / ExpectAllIngress / ExpectAllEgress / Expect
 * over an all-connected start) applied to the full 9-pod model. Where today's upstream test probes only a subset of
 * pods, the rows and columns it leaves out are filled in by the same rules (e.g. z/a → x/a in `multiPodNs`).
 * Difference from upstream: the diagonal (a pod to itself) is always `.` — kpf decides loopback is BYPASS (E16),
 * while upstream ignores loopback cells (`ignoreLoopback`).
 *
 * Several cases share one table; `cases/upstream.ts` says which case uses which.
 */
export const TABLES = {
  denyIngress: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	.	.	.	.	.	.
x/b	X	.	X	.	.	.	.	.	.
x/c	X	X	.	.	.	.	.	.	.
y/a	X	X	X	.	.	.	.	.	.
y/b	X	X	X	.	.	.	.	.	.
y/c	X	X	X	.	.	.	.	.	.
z/a	X	X	X	.	.	.	.	.	.
z/b	X	X	X	.	.	.	.	.	.
z/c	X	X	X	.	.	.	.	.	.
`,
  denyAll: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	X	X	X	X	X	X
x/b	X	.	X	X	X	X	X	X	X
x/c	X	X	.	X	X	X	X	X	X
y/a	X	X	X	.	.	.	.	.	.
y/b	X	X	X	.	.	.	.	.	.
y/c	X	X	X	.	.	.	.	.	.
z/a	X	X	X	.	.	.	.	.	.
z/b	X	X	X	.	.	.	.	.	.
z/c	X	X	X	.	.	.	.	.	.
`,
  podSelSameNs: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	X	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  ingressTarget: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	.	.	.	.	.	.
x/b	.	.	X	.	.	.	.	.	.
x/c	.	X	.	.	.	.	.	.	.
y/a	.	X	X	.	.	.	.	.	.
y/b	.	X	X	.	.	.	.	.	.
y/c	.	X	X	.	.	.	.	.	.
z/a	.	X	X	.	.	.	.	.	.
z/b	.	X	X	.	.	.	.	.	.
z/c	.	X	X	.	.	.	.	.	.
`,
  allowAll: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  nsY: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  podOrNs: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  podAndNs: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  multiPodNs: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  anyPodSel: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	X	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  onlyYA: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	X	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  ports81: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  allDenyXA: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	X	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  allDenyX: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	.	.	.	.	.	.
x/b	X	.	X	.	.	.	.	.	.
x/c	X	X	.	.	.	.	.	.	.
y/a	X	X	X	.	.	.	.	.	.
y/b	X	X	X	.	.	.	.	.	.
y/c	X	X	X	.	.	.	.	.	.
z/a	X	X	X	.	.	.	.	.	.
z/b	X	X	X	.	.	.	.	.	.
z/c	X	X	X	.	.	.	.	.	.
`,
  egressXDenied: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	X	X	X	X	X	X
x/b	X	.	X	X	X	X	X	X	X
x/c	X	X	.	X	X	X	X	X	X
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  fromOtherNsDenied: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	X	X	X	.	.	.	.	.	.
y/b	X	X	X	.	.	.	.	.	.
y/c	X	X	X	.	.	.	.	.	.
z/a	X	X	X	.	.	.	.	.	.
z/b	X	X	X	.	.	.	.	.	.
z/c	X	X	X	.	.	.	.	.	.
`,
  egressXADenied: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	X	X	X	X	X	X
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  togetherP81: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	X	X	X	X	X	X
x/b	.	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	X	.	.	.	.	.	.	.	.
y/b	X	.	.	.	.	.	.	.	.
y/c	X	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
  clientSide: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	.	X	X	X	X	X
x/b	.	.	.	X	X	.	.	.	.
x/c	.	.	.	X	X	.	.	.	.
y/a	.	.	.	.	X	.	.	.	.
y/b	.	.	.	X	.	.	.	.	.
y/c	.	.	.	X	X	.	.	.	.
z/a	.	.	.	X	X	.	.	.	.
z/b	.	.	.	X	X	.	.	.	.
z/c	.	.	.	X	X	.	.	.	.
`,
  egressToYA: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	.	X	X	X	X	X
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  cidrYB: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	X	X	.	X	X	X	X
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  exceptXB: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	X	.	.	.	.	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  overlapFinal: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	X	X	X	X	X	X	X
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  egressNotInY: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	X	X	X	.	.	.
x/b	.	.	.	.	.	.	.	.	.
x/c	.	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	.	.	.	.	.	.	.	.	.
z/b	.	.	.	.	.	.	.	.	.
z/c	.	.	.	.	.	.	.	.	.
`,
  updatedNs: `
-	x/a	x/b	x/c	y/a	y/b	y/c	z/a	z/b	z/c
x/a	.	.	.	.	.	.	.	.	.
x/b	X	.	.	.	.	.	.	.	.
x/c	X	.	.	.	.	.	.	.	.
y/a	.	.	.	.	.	.	.	.	.
y/b	.	.	.	.	.	.	.	.	.
y/c	.	.	.	.	.	.	.	.	.
z/a	X	.	.	.	.	.	.	.	.
z/b	X	.	.	.	.	.	.	.	.
z/c	X	.	.	.	.	.	.	.	.
`,
} as const;

export type TableId = keyof typeof TABLES;
