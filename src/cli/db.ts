/** `vpcmirror db migrate`: apply pending migrations and report each one; `db status`: only say which. */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { migrateToLatest, migrationStatus, openStore, redactUrl, storeExists } from '../store/store.js';
import { UsageError } from './call.js';

export async function dbCommand(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const usage = 'usage: vpcmirror db migrate|status [--database URL | --data-dir DIR]';
  // Asked for, the usage is an answer (exit 0) as for every other command.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `${usage}\n\nmigrate applies the pending schema migrations of the store and names each one;\nstatus names every migration, applied or pending, and changes nothing.\n`,
    );
    return 0;
  }
  if (sub !== 'migrate' && sub !== 'status') throw new UsageError(usage);
  const { values } = parseArgs({
    args: [...rest],
    options: { database: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const config = loadConfig(values, process.env, { for: 'store' });
  if (sub === 'status') {
    // Looking must not create: a mistyped --data-dir is said to have no store.
    if (!storeExists(config.database)) throw new UsageError(`no store at ${config.database}`);
    const store = await openStore({ location: config.database, migrate: false });
    try {
      const { known, newer } = await migrationStatus(store);
      for (const m of known)
        process.stdout.write(
          `${m.name}: ${m.appliedAt ? `applied ${m.appliedAt.toISOString()}` : 'pending'}\n`,
        );
      for (const name of newer) process.stdout.write(`${name}: applied by a newer vpcmirror\n`);
      const pending = known.filter((m) => m.appliedAt === null).length;
      process.stdout.write(
        `${redactUrl(store.location)}: ${pending === 0 ? 'up to date' : `${pending} pending (vpcmirror db migrate applies them)`}\n`,
      );
      return 0;
    } finally {
      await store.close();
    }
  }
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
