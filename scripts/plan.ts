// npm run plan -- [--stack NAME | --config-file PATH] [--server-files DIR | --from-server [--ssh-key FILE]] [--out DIR] [--lang en|ja]
// Runs the real program offline and shows what `pulumi up` would do, file contents included.
import { runPlanCli } from "../offline/planCli";

// runPlanCli reports every failure itself and returns the exit code.
void runPlanCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
}).then((code) => process.exit(code));
