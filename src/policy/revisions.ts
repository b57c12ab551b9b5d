/**
 * Policy revisions: every new set of manifests compiles off to the side into a new revision and is published in one
 * reference swap; a packet (a batch) sees one whole revision. A compile that fails — invalid input, an endpoint
 * whose policy map would overflow — publishes nothing: the previous revision stays in force (runtime.md §5).
 */
import { buildCluster } from '../cluster/build.js';
import type { Cluster } from '../cluster/model.js';
import { KpfError, ManifestError } from '../core/errors.js';
import { DEFAULT_SEMANTICS, type LoadOptions, type SemanticsOptions } from '../core/options.js';
import type { Snapshot } from '../datapath/snapshot.js';
import { loadManifests } from '../manifests/index.js';
import { compile, type Compiled } from './compile.js';
import { buildSnapshot } from './snapshot.js';

export interface Published {
  revision: number;
  compiled: Compiled;
  snapshot: Snapshot;
}

export type ApplyResult = { ok: true; published: Published } | { ok: false; error: KpfError; kept: Published | null };

export class PolicyRevisions {
  private current: Published | null = null;
  private next = 1;
  /** rejected compiles, for kpf_policy_changes_total{outcome="rejected"} */
  rejected = 0;
  applied = 0;

  constructor(
    private readonly opts: { semantics?: SemanticsOptions; policyMapMax?: number; shared?: boolean; load?: Partial<LoadOptions> } = {},
  ) {}

  /** The revision in force (null before the first successful apply). */
  get published(): Published | null {
    return this.current;
  }

  /** Compiles a cluster into the next revision and publishes it, or keeps the current one on failure. */
  apply(cluster: Cluster): ApplyResult {
    try {
      const compiled = compile(cluster, {
        semantics: this.opts.semantics ?? DEFAULT_SEMANTICS,
        revision: this.next,
        ...(this.opts.policyMapMax ? { policyMapMax: this.opts.policyMapMax } : {}),
      });
      const snapshot = buildSnapshot(compiled, { shared: this.opts.shared ?? true });
      const published: Published = { revision: this.next, compiled, snapshot };
      this.next++;
      this.current = published; // the one swap
      this.applied++;
      return { ok: true, published };
    } catch (e) {
      if (!(e instanceof KpfError)) throw e;
      this.rejected++;
      return { ok: false, error: e, kept: this.current };
    }
  }

  /** Loads manifests (as `-f` does) and applies them; invalid input keeps the current revision. */
  async applyManifests(paths: string[]): Promise<ApplyResult> {
    try {
      const loaded = await loadManifests(paths, this.opts.load ?? {});
      const built = buildCluster(loaded.objects, this.opts.load ?? {});
      const diags = [...loaded.diagnostics, ...built.diagnostics];
      if (diags.some((d) => d.severity === 'error')) throw new ManifestError(diags);
      return this.apply(built.cluster);
    } catch (e) {
      if (!(e instanceof KpfError)) throw e;
      this.rejected++;
      return { ok: false, error: e, kept: this.current };
    }
  }
}
