import { useRealWorld } from "./world";

describe("smoke", function () {
  this.timeout(600_000);
  const w = useRealWorld("smoke");
  it("up", async () => {
    const t0 = Date.now();
    const r = await w.stack().up();
    console.log(r.output.slice(-1500));
    console.log(JSON.stringify(r.summary), r.operations.map((o) => `${o.op} ${o.key}`).join("\n"), Date.now() - t0);
    const r2 = await w.stack().up();
    console.log(r2.output.slice(-800));
    console.log(JSON.stringify(r2.summary), r2.pluginCalls, Date.now() - t0);
    const r3 = await w.stack().refresh();
    console.log(JSON.stringify(r3.summary), r3.pluginCalls, Date.now() - t0);
    const r4 = await w.stack().destroy();
    console.log(JSON.stringify(r4.summary), r4.operations.map((o) => `${o.op} ${o.key}`).join("\n"), Date.now() - t0);
  });
});
