/**
 * One-file bundles of module graphs (scripts/bundle.mjs, built by `npm run build`): a bundle is used only when it is
 * there and no module it was built from is newer (a later plain `tsc` makes it stale), and never with
 * `KPF_NO_BUNDLE=1`. The tests run the TypeScript sources, which have no bundles.
 */
import { readFileSync, statSync } from 'node:fs';

/**
 * `bundle` (a file URL) when it is fresh: it exists, `KPF_NO_BUNDLE` is not `1`, and every input listed beside it
 * (`<name>.inputs.json`, paths relative to the bundle) is no newer than it; else null.
 */
export function freshBundle(bundle: URL): URL | null {
  if (process.env['KPF_NO_BUNDLE'] === '1') return null;
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL(bundle.href.replace(/\.js$/, '.inputs.json')), 'utf8')) as string[];
    return inputs.every((f) => statSync(new URL(f, bundle)).mtimeMs <= built) ? bundle : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
