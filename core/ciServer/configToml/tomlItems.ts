// Where each table header and key/value of config.toml sits, from toml-eslint-parser's syntax tree
// (its nodes carry source locations): the merges in this folder edit only the lines these name, so
// every other byte stays as it was. @iarna/toml stays the semantic check of input and result.
import { parseTOML, type AST } from "toml-eslint-parser";
import { ConfigTomlError } from "./configTomlError";

/** A place in the text: 0-based line, 0-based column (UTF-16 code units, as JavaScript strings count). */
export interface Pos {
  line: number;
  col: number;
}

export interface Header {
  kind: "header";
  line: number;
  path: string[];
  isArray: boolean;
  indent: string;
}

export interface KeyVal {
  kind: "keyval";
  line: number; // line of the key
  endLine: number; // last line of the value (multi-line arrays/strings)
  path: string[];
  indent: string;
  valueStart: Pos;
  valueEnd: Pos; // exclusive
}

export type Item = Header | KeyVal;

const keyPath = (k: AST.TOMLKey) => k.keys.map((p) => (p.type === "TOMLBare" ? p.name : p.value));
// The parser's lines are 1-based, its columns 0-based.
const pos = (p: AST.Position): Pos => ({ line: p.line - 1, col: p.column });

/** All headers and key/values of a TOML text whose lines end in "\n", in document order. */
export function tomlItems(text: string): Item[] {
  let program: AST.TOMLProgram;
  try {
    program = parseTOML(text, { tomlVersion: "1.0" });
  } catch (e) {
    throw new ConfigTomlError(`config.toml: ${(e as Error).message}`);
  }
  const lines = text.split("\n");
  const indentOf = (p: AST.Position) => lines[p.line - 1].slice(0, p.column);
  const keyVal = (kv: AST.TOMLKeyValue): KeyVal => ({
    kind: "keyval",
    line: kv.loc.start.line - 1,
    endLine: kv.value.loc.end.line - 1,
    path: keyPath(kv.key),
    indent: indentOf(kv.loc.start),
    valueStart: pos(kv.value.loc.start),
    valueEnd: pos(kv.value.loc.end),
  });
  const items: Item[] = [];
  for (const node of program.body[0].body) {
    if (node.type === "TOMLKeyValue") {
      items.push(keyVal(node));
      continue;
    }
    items.push({ kind: "header", line: node.loc.start.line - 1, path: keyPath(node.key), isArray: node.kind === "array", indent: indentOf(node.loc.start) });
    items.push(...node.body.map(keyVal));
  }
  return items;
}
