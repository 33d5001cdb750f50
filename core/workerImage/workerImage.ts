// What the Docker Autoscaler's workers need baked into the AMI, that docker-machine used to inject
// per worker with its engine-* options (docker-machine writes its own dockerd flags, so these must
// NOT be in a docker+machine image: dockerd refuses a directive given both as a flag and in
// daemon.json). The dockerd proxy drop-in is already in the image (core/proxy/proxyFiles.ts).
import { asRoot, checkName, shLines, shPreamble } from "../remote/shell";
import { shSections } from "../remote/shFiles";

export const DAEMON_JSON_PATH = "/etc/docker/daemon.json";

export interface AutoscalerImage {
  /** Nexus's docker-hosted registry on the CI server (host:port), plain HTTP. */
  insecureRegistry: string;
  /** The connector's login user; the executor talks to /var/run/docker.sock as this user over SSH. */
  user: string;
}

/** dockerd's daemon.json: Nexus over HTTP (docker-machine's engine-insecure-registry). */
export function daemonJson(insecureRegistries: string[]): string {
  return JSON.stringify({ "insecure-registries": insecureRegistries }, null, 2) + "\n";
}

/** Adds the login user to the docker group (GitLab: the AMI's connector user must be in it). */
export function dockerGroupBody(user: string): string {
  return shLines(["set -eu"], shPreamble({ user: checkName(user, "user") }), shSections("lib/die.sh", "ami/docker-group.sh"));
}

export function dockerGroupScript(user: string): string {
  return asRoot(dockerGroupBody(user));
}
