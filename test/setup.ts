// Mocha root hook: the oracles (shellcheck, docker-compose, ssh-keygen) and the host suite's sshd
// must be installed before any test runs; as root with apt they are installed, else the run stops
// with the apt command to use. Never a silent skip.
import { ensureHostDeps } from "./helpers/hostDeps";

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    this.timeout(15 * 60 * 1000);
    ensureHostDeps();
  },
};
