// A script file of core/remote/sh/ as a remote script carries it, read here independently of
// core/remote/shFiles.ts: a line naming it, then its shell less its leading comment block.
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO } from "./fixtures";

export const shFileLines = (rel: string): string[] => [
  `# ${rel}`,
  ...fs.readFileSync(path.join(REPO, "core/remote/sh", rel), "utf8").replace(/^(#.*\n)+\n*/, "").replace(/\n$/, "").split("\n"),
];
