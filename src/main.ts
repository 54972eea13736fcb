/**
 * The `vpcmirror` command line: `serve`, `call`, `db migrate`, and the account management
 * commands. User mistakes print one clear line and exit 2; nothing prints a stack trace unless
 * something is really broken.
 */
import { parseArgs } from 'node:util';
import { ACCOUNTS_HELP, accountsCommand } from './cli/accounts.js';
import { callCommand, UsageError } from './cli/call.js';
import { dbCommand } from './cli/db.js';
import { SERVE_FLAGS, serveCommand } from './cli/serve.js';
import { ConfigError } from './config.js';
import { StoreError } from './store/store.js';

const HELP = `vpcmirror: a local Alibaba Cloud VPC traffic mirroring API (2016-04-28)

Usage:
  vpcmirror serve [--host 127.0.0.1] [--port 8787] [--data-dir ./.vpcmirror] [--database postgres://…]
                  [--log-level info] [--transitions default=1s,session.delete=manual] [--config setup.yaml]
                  [--admin-token TOKEN] [--regions cn-hangzhou,cn-hongkong] [--no-ram]
  vpcmirror call <Action> [--Param value …] [--wait] [--endpoint host:port] [--signature v3|v1]
                  [--method POST|GET] [--access-key-id ID --access-key-secret SECRET] [--data-dir DIR]
  vpcmirror db migrate [--database URL | --data-dir DIR]

${ACCOUNTS_HELP}
Every serve flag has an environment variable: VPCMIRROR_HOST, VPCMIRROR_PORT, VPCMIRROR_DATA_DIR,
VPCMIRROR_DATABASE_URL, VPCMIRROR_LOG_LEVEL, VPCMIRROR_TRANSITIONS, VPCMIRROR_CONFIG, VPCMIRROR_ADMIN_TOKEN.
VPCMIRROR_ACCESS_KEY_ID and VPCMIRROR_ACCESS_KEY_SECRET choose the default AccessKey pair.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
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
      return callCommand(rest);
    case 'db':
      return dbCommand(rest);
    case 'account':
    case 'user':
    case 'key':
    case 'sts':
    case 'policy':
    case 'setup':
      return accountsCommand(command, rest);
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof StoreError) {
      process.stderr.write(`vpcmirror: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`vpcmirror: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof Error && 'code' in err && err.code === 'ECONNREFUSED') {
      process.stderr.write(
        `vpcmirror: nothing is listening there (${err.message}); start it with \`vpcmirror serve\`\n`,
      );
      process.exitCode = 1;
    } else {
      process.stderr.write(`vpcmirror: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
