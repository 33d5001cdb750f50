// `pulumi up` entry point: read and validate the stack config (every problem at once, before any
// resource), then run the runbook. Its outputs are the stack outputs.
import { runbook } from "./program";
import { loadSettings } from "./settings/load";

export = runbook(loadSettings());
