/**
 * The `vpcmirror` command line: `serve`, `call`, `db migrate`, and the account management
 * commands. User mistakes print one clear line and exit 2; nothing prints a stack trace unless
 * something is really broken.
 */
import { parseArgs } from 'node:util';
import { ACCOUNTS_HELP, accountsCommand } from './cli/accounts.js';
import { callCommand, UsageError } from './cli/call.js';
import { CallFailed } from './cli/client.js';
import { dbCommand } from './cli/db.js';
import { SERVE_FLAGS, serveCommand } from './cli/serve.js';
import { ConfigError } from './config.js';
import { API_VERSION } from './pipeline.js';
import { StoreError } from './store/store.js';
import { VERSION } from './version.js';

const SERVE_HELP = `  vpcmirror serve [flags]          (each flag also as an environment variable)
    --host 127.0.0.1                 VPCMIRROR_HOST
    --port 8787                      VPCMIRROR_PORT                 0 picks a free port
    --data-dir ./.vpcmirror          VPCMIRROR_DATA_DIR             SQLite file, credentials.json, endpoint
    --database postgres://…          VPCMIRROR_DATABASE_URL         shared state for several nodes
    --log-level info                 VPCMIRROR_LOG_LEVEL
    --transitions default=1s,…       VPCMIRROR_TRANSITIONS          e.g. default=0, session.delete=manual
    --config setup.yaml              VPCMIRROR_CONFIG               accounts, users, keys, policies
    --limits sessionsPerRegion=1000,…  VPCMIRROR_LIMITS             quotas; also sourcesPerSession=10,
                                                                    sessionsPerSource=3, filtersPerRegion=100
    --admin-token TOKEN              VPCMIRROR_ADMIN_TOKEN          required by the admin endpoints when set
    --regions cn-hangzhou,…          VPCMIRROR_REGIONS
    --no-ram                         VPCMIRROR_RAM=0                RAM policies not enforced
    --sqlite-checkpoints thread      VPCMIRROR_SQLITE_CHECKPOINTS   or inline
    --max-skew 900000                VPCMIRROR_MAX_SKEW_MS          accepted request clock distance, ms
    --nonce-ttl 900000               VPCMIRROR_NONCE_TTL_MS         how long a nonce stays used, ms (at least)
    --tls-cert cert.pem              VPCMIRROR_TLS_CERT             serve HTTPS with this certificate (PEM)
    --tls-key key.pem                VPCMIRROR_TLS_KEY              and its private key (PEM); both or neither
    --client-token-ttl 86400000      VPCMIRROR_CLIENT_TOKEN_TTL_MS  how long a ClientToken answer is kept, ms
    --worker-interval 200            VPCMIRROR_WORKER_INTERVAL_MS   how often due transitions are looked for, ms
    --body-limit 1048576             VPCMIRROR_BODY_LIMIT           largest request body, bytes
    --pg-statement-deadline 30000    VPCMIRROR_PG_STATEMENT_DEADLINE_MS  PostgreSQL statement deadline, ms
    --host-id vpc.aliyuncs.com       VPCMIRROR_HOST_ID              HostId of error answers
    --node-id ID                     VPCMIRROR_NODE_ID              this node's name (several nodes)
  VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET choose the default AccessKey pair;
  VPCMIRROR_CHECK_TIMESTAMP=0 and VPCMIRROR_CHECK_NONCE=0 turn those request checks off.
`;

type CodedError = Error & { readonly address?: unknown; readonly port?: unknown; readonly syscall?: unknown };

/** A node or driver error a user's setting or mistake causes: the one line it gets, and the exit status. */
interface Explained {
  readonly exit: 1 | 2;
  readonly when?: (err: CodedError) => boolean;
  readonly say: (err: CodedError) => string;
}

const untrusted: Explained = {
  exit: 1,
  say: (e) =>
    `the server's certificate is not trusted (${e.message}); pass --ca with the certificate it serves (or set NODE_EXTRA_CA_CERTS)`,
};

/** By error code; TLS trust failures are the codes node's TLS client reports for a certificate it cannot verify. */
const EXPLAINED: Readonly<Record<string, Explained>> = {
  EADDRINUSE: {
    exit: 2,
    say: (e) =>
      `the port is in use${e.address !== undefined && e.port !== undefined ? ` (${String(e.address)}:${String(e.port)})` : ''}; pick another with --port (0 picks any free port)`,
  },
  ECONNREFUSED: {
    exit: 1,
    say: (e) => `nothing is listening there (${e.message}); start it with \`vpcmirror serve\``,
  },
  ENOTFOUND: { exit: 2, say: (e) => `no such host (${e.message}); check the host of --endpoint or --host` },
  // The resolver did not answer: not the caller's mistake, and may pass.
  EAI_AGAIN: { exit: 1, say: (e) => `the host name could not be looked up now (${e.message})` },
  EPROTO: {
    exit: 1,
    say: (e) =>
      `the server there does not speak TLS (${e.message}); a server started without --tls-cert is dialled as host:port or http://host:port`,
  },
  EACCES: {
    exit: 2,
    when: (e) => e.syscall === 'listen',
    say: (e) =>
      `no permission to listen there (${e.message}); ports below 1024 need root: pick another with --port`,
  },
  EADDRNOTAVAIL: {
    exit: 2,
    say: (e) =>
      `this machine has no such address (${e.message}); give --host one of its own addresses, or 0.0.0.0`,
  },
  SQLITE_READONLY: {
    exit: 2,
    say: (e) =>
      `the store cannot be written (${e.message}); give the server a data directory and SQLite file it may write`,
  },
  ECONNRESET: {
    exit: 1,
    say: (e) =>
      `the server closed the connection without an answer (${e.message}); a server started with --tls-cert is dialled as https://host:port`,
  },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    exit: 1,
    say: (e) =>
      `the server's certificate is not for the address dialled (${e.message}); use --endpoint with a name or address the certificate lists`,
  },
  DEPTH_ZERO_SELF_SIGNED_CERT: untrusted,
  SELF_SIGNED_CERT_IN_CHAIN: untrusted,
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: untrusted,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: untrusted,
  CERT_HAS_EXPIRED: untrusted,
};

const CALL_HELP = `  vpcmirror call <Action> [--Param value …] [flags]
    --wait                           follow an asynchronous operation until Created or gone
    --timeout 300 --interval 0.5     --wait's limit and polling interval, seconds (at most about 24 days)
    --endpoint host:port             VPCMIRROR_ENDPOINT   default: DIR/endpoint, else 127.0.0.1:8787
                                     (a --data-dir whose endpoint file is gone is refused)
                                     (https://host:port for a server started with --tls-cert)
    --ca cert.pem                    VPCMIRROR_CA         a certificate to trust for https
    --data-dir DIR                   VPCMIRROR_DATA_DIR   where credentials.json and endpoint are (./.vpcmirror)
    --access-key-id ID --access-key-secret SECRET [--security-token TOKEN]
                                     VPCMIRROR_ACCESS_KEY_ID, _SECRET, VPCMIRROR_SECURITY_TOKEN
                                     (default: the pair in DIR/credentials.json)
    --signature v3|v1                VPCMIRROR_SIGNATURE (v3)
    --method POST|GET                VPCMIRROR_METHOD (POST)
  A parameter the action does not take is sent (the server ignores it) with a warning naming the
  one meant; a misspelled action gets the nearest one.
  Exit status: 0 success, 1 an error answer (DryRunOperation included; its HTTP status and code
  also go to stderr) or no server, 2 a usage mistake, 3 the call succeeded but --wait timed out,
  could not follow it, or saw the resource deleted before it was Created, 130 --wait ended by
  Ctrl-C (the change goes on in the server).
`;

const HELP = `vpcmirror: a local Alibaba Cloud VPC traffic mirroring API (2016-04-28)

Usage:
${SERVE_HELP}
${CALL_HELP}
  vpcmirror db migrate|status [--database URL | --data-dir DIR]
  vpcmirror --version

${ACCOUNTS_HELP}`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`Usage:\n${SERVE_HELP}`);
        return 0;
      }
      const { values } = parseArgs({
        args: [...rest],
        options: SERVE_FLAGS,
        strict: true,
        allowPositionals: false,
      });
      await serveCommand(values);
      return -1;
    }
    case 'call':
      return callCommand(rest, `Usage:\n${CALL_HELP}`);
    case 'db':
      return dbCommand(rest);
    case 'account':
    case 'user':
    case 'group':
    case 'key':
    case 'sts':
    case 'policy':
    case 'setup':
      return accountsCommand(command, rest);
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`vpcmirror ${VERSION} (Alibaba Cloud VPC API ${API_VERSION})\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return 0;
    default:
      process.stderr.write(`vpcmirror: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** The `code` of a node or driver error, if it has one. */
function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err ? String(err.code) : undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    const code = errorCode(err);
    const explained = code !== undefined && Object.hasOwn(EXPLAINED, code) ? EXPLAINED[code] : undefined;
    if (
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof StoreError ||
      (err instanceof TypeError && code?.startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`vpcmirror: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof CallFailed) {
      process.stderr.write(`vpcmirror: ${err.message}\n`);
      process.exitCode = 1;
    } else if (explained !== undefined && (explained.when?.(err as CodedError) ?? true)) {
      process.stderr.write(`vpcmirror: ${explained.say(err as CodedError)}\n`);
      process.exitCode = explained.exit;
    } else {
      process.stderr.write(`vpcmirror: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
