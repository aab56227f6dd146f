// Issue 15 item 5: the README's image list stays tied to the pinned charts.
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { test } from "node:test";
import { addonCharts } from "../../components/render/addonValues";
import { projectRoot } from "../../components/render/manifests";
import { readAddonImages, renderAddonImages } from "../../scripts/addonImages";
import { replaceMarkedSection } from "../../scripts/configDocs";

const charts = readAddonImages();

test("every pinned chart has its image list at the same chart and version (a moved pin needs a new list)", () => {
    assert.deepEqual(Object.keys(charts).sort(), Object.keys(addonCharts).sort());
    for (const [key, source] of Object.entries(addonCharts)) {
        assert.equal(charts[key].chart, source.chart, key);
        assert.equal(charts[key].version, source.version, `${key}: addonValues.ts pins ${source.version}, addon-images.json lists ${charts[key].version}`);
        assert.ok(charts[key].images.length > 0, key);
    }
});

test("every image whose repository a values file sets is found in that chart's values fixture", () => {
    let checked = 0;
    for (const [key, chart] of Object.entries(charts)) {
        for (const image of chart.images) {
            assert.match(image.image, /^[a-z0-9.-]+\/[a-z0-9._/-]+:[A-Za-z0-9._-]+$/, `${key}: ${image.image} is not registry/repository:tag`);
            // null: a subchart's own values, not copied here (the fixture names the tag it was read at).
            const file = image.valuesFile === null ? undefined : image.valuesFile ?? chart.valuesFile;
            if (!image.repositoryInValues || !file) continue;
            const values = fs.readFileSync(path.join(projectRoot, "test", "fixtures", file), "utf8");
            assert.ok(values.includes(image.repositoryInValues), `${key}: '${image.repositoryInValues}' not in ${file}`);
            assert.ok(image.image.includes(image.repositoryInValues.replace(/^docker\.io\//, "")), `${key}: ${image.image} does not use '${image.repositoryInValues}'`);
            checked++;
        }
    }
    assert.ok(checked >= 20, `only ${checked} images checked`);
});

test("the README's image list is current (npm run docs)", () => {
    const readme = fs.readFileSync(path.join(projectRoot, "README.md"), "utf8");
    assert.equal(readme, replaceMarkedSection(readme, "addon-images", renderAddonImages()));
    assert.match(readme, /`registry\.k8s\.io\/ingress-nginx\/controller:v1\.15\.1`/);
});
