/**
 * Issue 15 item 5: the README's list of the images each add-on pulls, generated (`npm run docs`)
 * from test/fixtures/addon-images.json. That file was read off each pinned chart's Chart.yaml,
 * values.yaml and templates (test/fixtures/SOURCES.md says where); a test fails when a chart's
 * pinned version in components/render/addonValues.ts no longer matches it.
 */
import * as fs from "fs";
import * as path from "path";
import { projectRoot } from "../components/render/manifests";

/** One image of a chart, as the fixture records it. */
export interface AddonImage {
    readonly image: string;
    readonly when: string;
    readonly digest?: string;
    readonly valuesPath?: string;
    readonly valuesFile?: string | null;
    readonly repositoryInValues?: string | null;
}

/** One pinned chart's images. */
export interface AddonImages {
    readonly chart: string;
    readonly version: string;
    readonly installedWhen: string;
    readonly valuesFile?: string;
    readonly images: readonly AddonImage[];
    /** The tigera-operator's: images the operator deploys, not the chart. */
    readonly operatorManagedImages?: { readonly images: readonly AddonImage[] };
}

/** The fixture's charts, keyed like `addonCharts`. */
export function readAddonImages(root: string = projectRoot): Record<string, AddonImages> {
    const file = path.join(root, "test", "fixtures", "addon-images.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { charts: Record<string, AddonImages> }).charts;
}

/** "docker.io/library/busybox:1.38.0 (only with nfs = true)" or just the reference. */
function describeImage(image: AddonImage): string {
    const digest = image.digest ? " (pinned by digest)" : "";
    const condition = /^only/.test(image.when) ? ` (${image.when.split(":")[0]})` : "";
    return `\`${image.image}\`${digest}${condition}`;
}

/** The README section "addon-images". */
export function renderAddonImages(charts: Record<string, AddonImages> = readAddonImages()): string {
    const rows = Object.values(charts).map((chart) => {
        const images = chart.images.map(describeImage);
        const operator = chart.operatorManagedImages?.images.map(describeImage) ?? [];
        const operated = operator.length > 0 ? `; the operator then deploys ${operator.join(", ")}` : "";
        return `| ${chart.chart} ${chart.version} | ${chart.installedWhen.split(" (")[0]} | ${images.join(", ")}${operated} |`;
    });
    return ["| chart | installed when | images |", "|---|---|---|", ...rows, ""].join("\n");
}
