// Rewrites the golden copy that serverBytes.test.ts compares with. Run it ONLY when a byte that
// reaches a server is meant to change, and say so in the commit:  npx ts-node test/plan/writeServerBytes.ts
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { GOLDEN, planInto, serverTrees, SERVER_SOURCES, STACKS, writeGolden } from "./serverBytes";

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "gra-golden-"));
  fs.rmSync(GOLDEN, { recursive: true, force: true });
  try {
    for (const stack of STACKS) for (const source of SERVER_SOURCES) {
      writeGolden(stack, source, serverTrees(await planInto(stack, source, work)));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

void main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
