import assert from "node:assert/strict";
import { test } from "node:test";
import { allAddonsGoldenDirectory, esxiGoldenDirectory, readGoldenFiles, renderAllAddonsGoldenFiles, renderGoldenFiles } from "../../scripts/golden";
import { installMocks } from "../helpers/pulumiMocks";

installMocks();

/** The rendered files against the golden ones: what is missing, extra and changed. */
function staleness(rendered: ReadonlyMap<string, string>, golden: ReadonlyMap<string, string>) {
    const missing = [...rendered.keys()].filter((file) => !golden.has(file));
    const extra = [...golden.keys()].filter((file) => !rendered.has(file));
    const changed = [...rendered.keys()].filter((file) => golden.has(file) && golden.get(file) !== rendered.get(file));
    return { missing, extra, changed };
}

test("every artifact the lab renders matches its golden file in test/golden/lab (refresh: npm run golden)", async () => {
    const rendered = await renderGoldenFiles();
    const golden = readGoldenFiles();
    assert.ok(rendered.size >= 40, `the lab renders only ${rendered.size} files`);
    assert.deepEqual(staleness(rendered, golden), { missing: [], extra: [], changed: [] }, "golden files are stale: run npm run golden and review the diff");
});

test("the lab with every optional add-on matches test/golden/lab-all-addons (files differing from the lab's; refresh: npm run golden)", async () => {
    const rendered = await renderAllAddonsGoldenFiles(await renderGoldenFiles());
    for (const file of ["cluster/helm/lab-addons-monitoring.values.yaml", "cluster/helm/lab-addons-flux.values.yaml", "cluster/manifests/lab-addons-flux-source.yaml"]) {
        assert.ok(rendered.has(file), `the variant renders ${file}; have ${[...rendered.keys()].join(", ")}`);
    }
    const golden = readGoldenFiles(allAddonsGoldenDirectory);
    assert.deepEqual(staleness(rendered, golden), { missing: [], extra: [], changed: [] }, "golden files are stale: run npm run golden and review the diff");
});

test("the second environment (Pulumi.esxi.yaml) matches test/golden/esxi (refresh: npm run golden)", async () => {
    const rendered = await renderGoldenFiles("esxi");
    assert.ok(rendered.has("home-cp1/etc/k8s-lab/kubeadm-init.yaml"), [...rendered.keys()].slice(0, 10).join(", "));
    assert.ok(![...rendered.keys()].some((file) => file.includes("nfs")), "nfs is off in that environment");
    assert.deepEqual(staleness(rendered, readGoldenFiles(esxiGoldenDirectory)), { missing: [], extra: [], changed: [] }, "golden files are stale: run npm run golden and review the diff");
});
