/**
 * Runs the probe agents: one child process per source pod, `ip netns exec NS node probe-agent.js JOB`, a few at a
 * time, each bounded by its job's timeout plus a start-up allowance (then killed). Results come back as JSON lines.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KpfError } from '../core/errors.js';
import type { AgentJob, AgentResult } from './probe-agent.js';
import type { Plan } from './plan.js';

export function agentFile(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(self.endsWith('.ts') ? './probe-agent.ts' : './probe-agent.js', import.meta.url));
}

/** Node's arguments for the agent: from TypeScript sources (tests) the loader this process runs with. */
function nodeArgs(file: string): string[] {
  return file.endsWith('.ts') ? [...process.execArgv, file] : [file];
}

/** Runs one agent in `netns`; resolves with its results (throws KpfError when it fails as a whole). */
export function runAgent(netns: string, job: AgentJob, opts: { startupMs?: number } = {}): Promise<AgentResult[]> {
  const file = agentFile();
  const arg = Buffer.from(JSON.stringify(job)).toString('base64');
  return new Promise<AgentResult[]>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, ...nodeArgs(file), arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    const results: AgentResult[] = [];
    let error: string | undefined;
    let buf = '';
    let stderr = '';
    const limit = job.timeoutMs + (opts.startupMs ?? 20_000);
    const timer = setTimeout(() => {
      error = `probe agent in ${netns} did not finish within ${limit} ms`;
      child.kill('SIGKILL');
    }, limit);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const m = JSON.parse(line) as AgentResult & { error?: string; done?: boolean };
          if (typeof m.error === 'string') error = m.error;
          else if (typeof m.id === 'number') results.push(m);
        } catch {
          /* not ours */
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new KpfError('KPF_ERR_PROBE', `cannot run ip netns exec ${netns}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (error !== undefined || code !== 0) {
        reject(new KpfError('KPF_ERR_PROBE', error ?? `probe agent in ${netns} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      } else resolve(results);
    });
  });
}

/**
 * Runs every source's probes in its namespace (`netnsOf(sourceKey)`), `concurrency` agents at a time; SCTP probes
 * after the others, one agent at a time: while a raw SCTP socket is open in a namespace, a kernel without SCTP
 * sends no ICMP protocol unreachable from it, so two probers would silence each other.
 */
export async function runPlan(plan: Plan, netnsOf: (source: string) => string, opts: { timeoutMs: number; concurrency?: number }): Promise<Map<number, AgentResult>> {
  const results = new Map<number, AgentResult>();
  const phase = async (sctp: boolean, concurrency: number): Promise<void> => {
    const jobs = plan.sources
      .map((s) => ({ s, probes: plan.probes.filter((p) => p.from === s.key && (p.proto === 'SCTP') === sctp) }))
      .filter((j) => j.probes.length > 0);
    let next = 0;
    const one = async (): Promise<void> => {
      while (next < jobs.length) {
        const { s, probes } = jobs[next++]!;
        const job = { src: s.ip, timeoutMs: opts.timeoutMs, probes: probes.map((p) => ({ id: p.id, proto: p.proto, dst: p.dst, ...(p.port !== undefined ? { port: p.port } : {}) })) };
        for (const r of await runAgent(netnsOf(s.key), job)) results.set(r.id, r);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, one));
  };
  await phase(false, opts.concurrency ?? 4);
  await phase(true, 1);
  return results;
}
