/**
 * What `vpcmirror call` says about names it does not know: the nearest action, parameter or flag.
 * The server ignores parameters an operation does not take (as the real service does), so a
 * misspelled filter would otherwise widen a List silently.
 */
import { OPERATIONS } from '../api/registry.js';
import type { ParamSpec } from '../api/schema.js';

/** Parameters the gateway accepts for every action and the service ignores. */
const IGNORED_COMMON = new Set(['OwnerId', 'OwnerAccount', 'ResourceOwnerId', 'ResourceOwnerAccount']);

/**
 * Edit distance with a swap of two neighbours counting as one edit (`wiat` is one slip from
 * `wait`), stopping early past `limit`: only near names are worth suggesting.
 */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      next.push(d);
    }
    before = row;
    row = next;
  }
  return row[b.length] ?? limit + 1;
}

/**
 * The candidate nearest to `name` (case ignored), if one is near enough to be a slip: a third of
 * the name's letters at most, so that a one- or two-letter name is matched by nothing.
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1;
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
            // `Tag.1` names an item whose fields are what is sent: `Tag.1.Key`.
            const near =
              forms.find((f) => f.startsWith(`${generic(name)}.`)) ?? nearest(generic(name), forms);
            return near ? ` (did you mean --${near.replace('.N', name.match(/\.(\d+)/)?.[0] ?? '.1')}?)` : '';
          })();
    // A name the server does not know it ignores; a malformed member of a list it takes
    // (`Tag.1` for `Tag.1.Key`), or the list's bare name, it refuses.
    const base = name.split('.')[0] ?? name;
    const fate = Object.hasOwn(op.params, base) ? 'the server refuses it' : 'the server ignores it';
    out.push(`${action} takes no parameter ${name}${hint}; ${fate}`);
  }
  return out;
}
