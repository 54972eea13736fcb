/** Rewrites docs/errors.md and docs/operations.md from the code (`npm run docs`). */
import { writeFileSync } from 'node:fs';
import { errorsMarkdown, operationsMarkdown } from '../src/api/docs.js';
import { OPERATIONS } from '../src/api/registry.js';

writeFileSync('docs/errors.md', errorsMarkdown(OPERATIONS));
writeFileSync('docs/operations.md', operationsMarkdown(OPERATIONS));
process.stdout.write('wrote docs/errors.md and docs/operations.md\n');
