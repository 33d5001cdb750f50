// Paths to the test fixtures (test/fixtures/, each file's origin in its folder's SOURCES.md)
// and to the repo's own files.
import * as fs from "node:fs";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "../..");
export const FIXTURES = path.resolve(REPO, "test/fixtures");

export const fixture = (rel: string) => fs.readFileSync(path.join(FIXTURES, rel), "utf8");
export const fixtureJson = <T = any>(rel: string): T => JSON.parse(fixture(rel));
export const repoFile = (rel: string) => fs.readFileSync(path.join(REPO, rel), "utf8");
