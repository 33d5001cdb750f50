// Mocha's setup for every run (`npm test`, `npm run test:host`, a single file): the oracles
// (shellcheck, docker-compose, ssh-keygen) and the host suite's sshd must be installed before any
// test runs. The global setup (main process, before the parallel test processes start; they inherit
// its environment) installs them once with apt when run as root, else stops the run with the apt
// command to use; each test process then only verifies. Never a silent skip.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostDepsFixtures } from "./helpers/hostDeps";
import { SHELLCHECK_CACHE_ENV } from "./helpers/shellcheck";

const hostDeps = hostDepsFixtures();

export const mochaHooks = hostDeps.mochaHooks;

// One shellcheck cache for the whole run, removed after it.
let shellcheckCache: string | undefined;

export function mochaGlobalSetup(): void {
  hostDeps.mochaGlobalSetup();
  shellcheckCache = fs.mkdtempSync(path.join(os.tmpdir(), "gra-shellcheck-"));
  process.env[SHELLCHECK_CACHE_ENV] = shellcheckCache;
}

export function mochaGlobalTeardown(): void {
  if (shellcheckCache) fs.rmSync(shellcheckCache, { recursive: true, force: true });
}
