/**
 * First start: a default account with one AccessKey, so a newcomer can call the server at once.
 * The pair is kept in the data directory (owner-only) for `vpcmirror call`; the keys themselves
 * live in the database like every other credential, so every node of a cluster accepts them.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { ConfigError } from '../config.js';
import { newAccessKeyId, newAccessKeySecret, newAccountId, newResourceId } from '../ids.js';
import { findAccessKey, insertAccessKey, insertAccount, listAccounts } from '../store/credentials.repo.js';
import { newTransaction } from '../store/database.js';
import type { Store } from '../store/store.js';
import { checks } from './accounts.service.js';
import { nonRootKeyOf, type Setup } from './setup-file.js';

export interface BootstrapResult {
  readonly accountId: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** True when nobody chose these credentials: they were generated on first start. */
  readonly generated: boolean;
  readonly created: boolean;
  /**
   * The AccessKey id the data directory's credentials file named before, when this store has no
   * such key (the file was written for another store served from this directory).
   */
  readonly replaced?: string;
  /** The chosen pair named a key of the store with another secret, which it now has. */
  readonly secretReplaced?: boolean;
  /** The chosen pair names a key someone disabled: it stays so until `key enable`. */
  readonly inactive?: boolean;
}

export const CREDENTIALS_FILE = 'credentials.json';

interface CredentialsFile {
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
  generated: boolean;
}

export function readCredentialsFile(dataDir: string): CredentialsFile | undefined {
  const path = join(dataDir, CREDENTIALS_FILE);
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Damaged (an interrupted write, an editor): the store is what counts, and a start writes the
    // file again from it.
    return undefined;
  }
  if (
    parsed &&
    typeof parsed === 'object' &&
    'accountId' in parsed &&
    'accessKeyId' in parsed &&
    'accessKeySecret' in parsed &&
    typeof parsed.accountId === 'string' &&
    typeof parsed.accessKeyId === 'string' &&
    typeof parsed.accessKeySecret === 'string'
  ) {
    return {
      accountId: parsed.accountId,
      accessKeyId: parsed.accessKeyId,
      accessKeySecret: parsed.accessKeySecret,
      generated: 'generated' in parsed && parsed.generated === true,
    };
  }
  return undefined;
}

function writeCredentialsFile(dataDir: string, c: CredentialsFile): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, CREDENTIALS_FILE);
  writeFileSync(path, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/**
 * The same variables are the credentials `vpcmirror call` reads: a shell set up to call as a RAM
 * user must not make the server hand that user's key out as the account's, with a new secret. Nor
 * does a start undo a `key disable`.
 */
function refuseNonRootKey(existing: Awaited<ReturnType<typeof findAccessKey>>): void {
  if (
    existing &&
    (existing.user_name !== null || existing.role_name !== null || existing.security_token !== null)
  )
    throw notAnAccountKey(existing.user_name);
}

function notAnAccountKey(userName: string | null): ConfigError {
  return new ConfigError(
    `VPCMIRROR_ACCESS_KEY_ID names ${userName !== null ? `a key of RAM user ${userName}` : 'temporary credentials'}, not an account's own key, which the server's default pair must be; name one, or unset VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET for the server`,
  );
}

/**
 * The refusal of ensureDefaultCredentials, before anything is written: for a key the store has,
 * or one that the set-up file about to be applied makes a RAM user's or temporary.
 */
export async function checkDefaultKey(
  store: Store,
  accessKeyId: string | undefined,
  accessKeySecret: string,
  setup: Setup | undefined,
): Promise<void> {
  if (!accessKeyId) return;
  const existing = await findAccessKey(store.db, accessKeyId);
  refuseNonRootKey(existing);
  const inSetup = setup ? nonRootKeyOf(setup, accessKeyId) : undefined;
  if (inSetup) throw notAnAccountKey(inSetup.userName);
  // A key the start would create, or a secret it would write, follows the rules of `key create`:
  // an id starting STS. would pass for temporary credentials without a token.
  const idProblem = existing ? undefined : checks.accessKeyId(accessKeyId);
  if (idProblem !== undefined) throw new ConfigError(`VPCMIRROR_ACCESS_KEY_ID ${idProblem}`);
  const secretProblem =
    existing?.secret === accessKeySecret ? undefined : checks.accessKeySecret(accessKeySecret);
  if (secretProblem !== undefined) throw new ConfigError(`VPCMIRROR_ACCESS_KEY_SECRET ${secretProblem}`);
}

export async function ensureDefaultCredentials(
  store: Store,
  dataDir: string,
  explicit: { accessKeyId: string | undefined; accessKeySecret: string | undefined },
  now: number,
  /** AccessKey ids someone chose (a set-up file's fixed pairs): never reported as generated. */
  chosenKeys: ReadonlySet<string> = new Set(),
  /** The account to hand out a key of (a set-up file's first); otherwise the oldest. */
  preferredAccountId?: string,
): Promise<BootstrapResult> {
  return newTransaction(store.db).execute(async (tx) => {
    // Several nodes may start together on one empty PostgreSQL database: one creates, others wait.
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(727001)`.execute(tx);
    const accounts = await listAccounts(tx);
    let account = accounts.find((a) => a.id === preferredAccountId) ?? accounts[0];
    let created = false;
    if (!account) {
      account = {
        id: newAccountId(),
        name: 'default',
        default_resource_group_id: newResourceId('ResourceGroup'),
        created_at: now,
      };
      await insertAccount(tx, account);
      created = true;
    }
    const fromFile = readCredentialsFile(dataDir);
    // The file may name a key of another store served from this data directory.
    const fileKey = fromFile === undefined ? undefined : await findAccessKey(tx, fromFile.accessKeyId);
    let result: BootstrapResult;
    if (explicit.accessKeyId && explicit.accessKeySecret) {
      const existing = await findAccessKey(tx, explicit.accessKeyId);
      refuseNonRootKey(existing);
      const secretReplaced = existing !== undefined && existing.secret !== explicit.accessKeySecret;
      if (secretReplaced) {
        await tx
          .updateTable('access_keys')
          .set({ secret: explicit.accessKeySecret })
          .where('access_key_id', '=', explicit.accessKeyId)
          .execute();
      }
      const accountId = existing?.account_id ?? account.id;
      if (!existing) {
        await insertAccessKey(tx, rootKey(accountId, explicit.accessKeyId, explicit.accessKeySecret, now));
      }
      result = {
        accountId,
        accessKeyId: explicit.accessKeyId,
        accessKeySecret: explicit.accessKeySecret,
        generated: false,
        created,
        ...(secretReplaced ? { secretReplaced } : {}),
        ...(existing !== undefined && existing.status !== 'Active' ? { inactive: true } : {}),
      };
    } else if (fromFile && fileKey) {
      result = {
        ...fromFile,
        // The store's secret, should the file hold an older one.
        accessKeySecret: fileKey.secret,
        generated: fromFile.generated && !chosenKeys.has(fromFile.accessKeyId),
        created,
        ...(fileKey.status !== 'Active' ? { inactive: true } : {}),
      };
    } else {
      const existingRoot = await tx
        .selectFrom('access_keys')
        .selectAll()
        .where('account_id', '=', account.id)
        .where('user_name', 'is', null)
        .where('role_name', 'is', null)
        .where('security_token', 'is', null)
        // An active key before a disabled one, so that the key handed out works.
        .orderBy(sql`case when status = 'Active' then 0 else 1 end`)
        .orderBy('created_at')
        .orderBy('access_key_id')
        .executeTakeFirst();
      if (existingRoot && !created) {
        // Another node made the key; this node's data directory just learns it.
        result = {
          accountId: account.id,
          accessKeyId: existingRoot.access_key_id,
          accessKeySecret: existingRoot.secret,
          generated: !chosenKeys.has(existingRoot.access_key_id),
          created,
          ...(existingRoot.status !== 'Active' ? { inactive: true } : {}),
        };
      } else {
        const key = rootKey(account.id, newAccessKeyId(), newAccessKeySecret(), now);
        await insertAccessKey(tx, key);
        result = {
          accountId: account.id,
          accessKeyId: key.access_key_id,
          accessKeySecret: key.secret,
          generated: true,
          created,
        };
      }
    }
    writeCredentialsFile(dataDir, {
      accountId: result.accountId,
      accessKeyId: result.accessKeyId,
      accessKeySecret: result.accessKeySecret,
      generated: result.generated,
    });
    if (fromFile && !fileKey && fromFile.accessKeyId !== result.accessKeyId)
      return { ...result, replaced: fromFile.accessKeyId };
    return result;
  });
}

export function rootKey(accountId: string, accessKeyId: string, secret: string, now: number) {
  return {
    access_key_id: accessKeyId,
    secret,
    account_id: accountId,
    user_name: null,
    role_name: null,
    status: 'Active',
    security_token: null,
    expires_at: null,
    session_policy: null,
    created_at: now,
  };
}
