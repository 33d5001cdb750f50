// `pulumi up` entry point: read and validate the stack config (every problem at once, before any
// resource), then run the runbook.
import { runbook } from "./program";
import { loadSettings } from "./settings/load";

const out = runbook(loadSettings());

export const amiId = out.amiId;
export const iamUserName = out.iamUserName;
export const accessKeyId = out.accessKeyId;
export const securityGroupRuleIds = out.securityGroupRuleIds;
export const ciServerFiles = out.ciServerFiles;
export const ciServerResults = out.ciServerResults;
export const summary = out.summary;
