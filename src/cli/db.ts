/** `vpcmirror db migrate`: apply pending migrations and report each one. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { migrateToLatest, openStore, redactUrl } from '../store/store.js';
import { UsageError } from './call.js';

export async function dbCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const usage = 'usage: vpcmirror db migrate [--database URL | --data-dir DIR]';
  // Asked for, the usage is an answer (exit 0) as for every other command.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `${usage}\n\nApplies the pending schema migrations of the store and names each one.\n`,
    );
    return 0;
  }
  if (sub !== 'migrate') throw new UsageError(usage);
  const { values } = parseArgs({
    args: [...rest],
    options: { database: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const config = loadConfig(values, process.env, { for: 'store' });
  const store = await openStore({ location: config.database, migrate: false });
  try {
    const result = await migrateToLatest(store);
    const done = result.results ?? [];
    if (done.length === 0) process.stdout.write(`${redactUrl(store.location)}: up to date\n`);
    for (const r of done) process.stdout.write(`${r.migrationName}: ${r.status}\n`);
    return done.some((r) => r.status === 'Error') ? 1 : 0;
  } finally {
    await store.close();
  }
}
