import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError, loadModel, serializeModel, trainIsolationForest } from "../../engine/mod.ts";

Deno.test("loadModel: a model file, ready to score; one error text per problem naming --model and the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const x = Float64Array.from({ length: 200 }, (_, i) => (i * 7919) % 101);
    const good = join(dir, "model.json");
    await Deno.writeTextFile(
      good,
      serializeModel(trainIsolationForest(x, 100, ["a", "b"], { seed: 1, trees: 5 })),
    );
    const forest = await loadModel(good);
    assert.deepEqual(forest.model.features, ["a", "b"]);
    assert.equal(forest.score(x, 100).scoreSamples.length, 100);

    await Deno.mkdir(join(dir, "sub"));
    const cases: [string, string, string][] = [
      ["missing.json", "", `bad value for --model: "${dir}/missing.json" does not exist`],
      ["sub", "", `bad value for --model: "${dir}/sub" is not a file`],
      ["text.json", "{", `bad value for --model: "${dir}/text.json": not JSON: `],
      [
        "wrong.json",
        '{"format": "other"}',
        `bad value for --model: "${dir}/wrong.json": format: `,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = join(dir, name);
      if (content !== "") await Deno.writeTextFile(path, content);
      await assert.rejects(loadModel(path), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.ok(e.message.startsWith(message), `${e.message} does not start with ${message}`);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
