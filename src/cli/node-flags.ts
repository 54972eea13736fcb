/**
 * The Node.js flags a server runs with, given by every launcher of the project: the `vpcmirror`
 * command's first line, `npm start`, the deployment command in the README, and the benchmark
 * (test/unit/node-flags.test.ts keeps them the same). They cannot be set from inside the process:
 * V8 sizes its heap before any code runs.
 *
 * `--max-semi-space-size=8` caps each half of V8's young generation at 8 MB instead of 16. Under
 * load the young generation grows to its cap, and memory never given back counts in the server's
 * resident size: with 1,000,000 sessions stored the peak under the List load fell from 146.9 and
 * 153.3 MB to 128.4 and 134.5 MB (a run of the benchmark's pages phase each), paging from about 130
 * to 117 MB. Collections come twice as often but copy only what is still alive, the requests in
 * flight: the CPU per List did not move beyond the noise in six pairs of runs by turns.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];
