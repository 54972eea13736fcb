/**
 * What `vpcmirror call` says about names it does not know: the nearest action, parameter or flag.
 * The server ignores parameters an operation does not take (as the real service does), so a
 * misspelled filter would otherwise widen a List silently.
 */
import { OPERATIONS } from '../api/registry.js';
import type { ParamSpec } from '../api/schema.js';

/** Parameters the gateway accepts for every action and the service ignores. */
const IGNORED_COMMON = new Set(['OwnerId', 'OwnerAccount', 'ResourceOwnerId', 'ResourceOwnerAccount']);

/** Edit distance, stopping early past `limit`: only near names are worth suggesting. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? limit + 1;
}

/** The candidate nearest to `name` (case ignored), if one is near enough to be a slip. */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 5)) + 1;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** `Name`, `Name.N`, `Name.N.Field`: how a parameter is written on the wire. */
function wireForms(name: string, spec: ParamSpec): string[] {
  if (spec.type === 'list') return [`${name}.N`];
  if (spec.type === 'objectList') return Object.keys(spec.fields).map((f) => `${name}.N.${f}`);
  return [name];
}

/** `Tag.3.Key` as `Tag.N.Key`. */
const generic = (name: string) => name.replace(/\.\d+(?=\.|$)/g, '.N');

export function actionAdvice(action: string): string | undefined {
  if (OPERATIONS.has(action)) return undefined;
  const near = nearest(action, OPERATIONS.keys());
  return `${action} is not an action of this API${near ? `; did you mean ${near}?` : ' (vpcmirror call lists none; see docs/operations.md)'}`;
}

/** One line per parameter the action does not take, with the name meant where one is near. */
export function parameterAdvice(
  action: string,
  params: Readonly<Record<string, string>>,
  ownFlags: ReadonlySet<string>,
): string[] {
  const op = OPERATIONS.get(action);
  if (!op) return [];
  const forms = Object.entries(op.params).flatMap(([name, spec]) => wireForms(name, spec));
  const known = new Set(forms);
  const out: string[] = [];
  for (const name of Object.keys(params)) {
    if (known.has(generic(name)) || IGNORED_COMMON.has(name)) continue;
    const asList = forms.find((f) => f.startsWith(`${name}.N`));
    const hint = ownFlags.has(name.toLowerCase())
      ? ` (the flag of vpcmirror call is --${name.toLowerCase()}, in lower case)`
      : asList
        ? ` (a list: write --${asList.replace('.N', '.1')} …)`
        : (() => {
            const near = nearest(generic(name), forms);
            return near ? ` (did you mean --${near.replace('.N', '.1')}?)` : '';
          })();
    out.push(`${action} takes no parameter ${name}${hint}; the server ignores it`);
  }
  return out;
}
