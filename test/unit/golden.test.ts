import assert from "node:assert/strict";
import { test } from "node:test";
import { readGoldenFiles, renderGoldenFiles } from "../../scripts/golden";
import { installMocks } from "../helpers/pulumiMocks";

installMocks();

test("every artifact the lab renders matches its golden file in test/golden/lab (refresh: npm run golden)", async () => {
    const rendered = await renderGoldenFiles();
    const golden = readGoldenFiles();
    assert.ok(rendered.size >= 40, `the lab renders only ${rendered.size} files`);
    const missing = [...rendered.keys()].filter((file) => !golden.has(file));
    const extra = [...golden.keys()].filter((file) => !rendered.has(file));
    const changed = [...rendered.keys()].filter((file) => golden.has(file) && golden.get(file) !== rendered.get(file));
    assert.deepEqual({ missing, extra, changed }, { missing: [], extra: [], changed: [] }, "golden files are stale: run npm run golden and review the diff");
});
