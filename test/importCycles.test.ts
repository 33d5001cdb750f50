// The import graph has no cycles (issue 17): followed from program.ts, a reader never climbs back
// to a file already on the way. Type-only imports count too. madge walks the graph with
// TypeScript's own resolution (tsconfig.json).
import { strict as assert } from "node:assert";
import madge from "madge";
import { REPO } from "./helpers/fixtures";

export const SOURCE_ROOTS = ["index.ts", "program.ts", "core", "components", "settings", "offline", "scripts", "test"];

export async function importGraph(roots: string[] = SOURCE_ROOTS) {
  return madge(roots, {
    baseDir: REPO,
    fileExtensions: ["ts"],
    tsConfig: `${REPO}/tsconfig.json`,
    detectiveOptions: { ts: { skipTypeImports: false } },
  });
}

describe("import graph", function () {
  this.timeout(120000);
  it("has no cycles, type-only imports included", async () => {
    const graph = await importGraph(SOURCE_ROOTS.map((r) => `${REPO}/${r}`));
    const files = Object.keys(graph.obj());
    assert.ok(files.includes("core/remote/scripts.ts") && files.includes("settings/validate.ts"), `the walk found the sources: ${files.length} files`);
    assert.deepEqual(graph.circular(), []);
    assert.deepEqual(graph.warnings().skipped, [], "every import resolved");
  });
});
