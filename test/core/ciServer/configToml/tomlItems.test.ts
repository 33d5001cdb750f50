import { strict as assert } from "node:assert";
import { tomlItems } from "../../../../core/ciServer/configToml/tomlItems";

describe("core/ciServer/configToml/tomlItems (toml-eslint-parser's locations)", () => {
  it("headers and key/values in document order, with lines, indents and value ranges", () => {
    const text = [
      'concurrent = 3 # global',
      '[[runners]]',
      '  name = "😀 runner"',
      '  note = """',
      '[runners.machine]',
      '"""',
      '  [runners."docker".x]',
      '    when = 1979-05-27 07:32:00Z',
      "    opts = [",
      '      "a", # one',
      "    ]",
    ].join("\n");
    const items = tomlItems(text);
    assert.deepEqual(items.map((i) => [i.kind, i.line, i.path.join("."), i.indent]), [
      ["keyval", 0, "concurrent", ""],
      ["header", 1, "runners", ""],
      ["keyval", 2, "name", "  "],
      ["keyval", 3, "note", "  "],
      ["header", 6, "runners.docker.x", "  "],
      ["keyval", 7, "when", "    "],
      ["keyval", 8, "opts", "    "],
    ]);
    const kv = (n: number) => items[n] as Extract<(typeof items)[number], { kind: "keyval" }>;
    const lines = text.split("\n");
    const valueText = (n: number) => {
      const { valueStart: s, valueEnd: e } = kv(n);
      return s.line === e.line ? lines[s.line].slice(s.col, e.col) : [lines[s.line].slice(s.col), ...lines.slice(s.line + 1, e.line), lines[e.line].slice(0, e.col)].join("\n");
    };
    assert.equal(valueText(0), "3");
    assert.equal(valueText(2), '"😀 runner"', "columns count UTF-16 units, as the merges slice");
    assert.equal(valueText(3), '"""\n[runners.machine]\n"""');
    assert.equal(kv(3).endLine, 5);
    assert.equal(valueText(5), "1979-05-27 07:32:00Z");
    assert.equal(valueText(6), '[\n      "a", # one\n    ]');
    assert.equal((items[1] as { isArray: boolean }).isArray, true);
  });

  it("says config.toml when the parser refuses the text", () => {
    assert.throws(() => tomlItems("a = \n"), /^ConfigTomlError: config\.toml: /);
  });
});
