// Mocha root hook: the oracles (shellcheck, docker-compose, ssh-keygen) and the host suite's sshd
// must be installed before any test runs; as root with apt they are installed, else the run stops
// with the apt command to use. Never a silent skip.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ensureHostDeps } from "./helpers/hostDeps";
import { SHELLCHECK_CACHE_ENV } from "./helpers/shellcheck";

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(15 * 60 * 1000);
    ensureHostDeps();
  },
};

// Mocha global fixtures run once in the main process, before the parallel test processes start
// (they inherit its environment): one shellcheck cache for the whole run, removed after it.
let shellcheckCache: string | undefined;

export function mochaGlobalSetup(): void {
  shellcheckCache = fs.mkdtempSync(path.join(os.tmpdir(), "gra-shellcheck-"));
  process.env[SHELLCHECK_CACHE_ENV] = shellcheckCache;
}

export function mochaGlobalTeardown(): void {
  if (shellcheckCache) fs.rmSync(shellcheckCache, { recursive: true, force: true });
}
