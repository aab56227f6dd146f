/**
 * The dependency graph as pictures: the full graph (every resource, components as subgraphs) in
 * Mermaid and Graphviz, and a compact Mermaid graph of the major steps for the README.
 * Arrows point from a dependency to what waits for it, the order `pulumi up` creates them in.
 */
import { displayType, isAncestorOrSelf, PlanModel, PlanResource, StepKind, stepsUnder } from "./model";

/** One arrow of the full graph: `from` must exist before `to` is created. Either end may be a component. */
export interface GraphEdge {
    readonly from: PlanResource;
    readonly to: PlanResource;
}

/**
 * The edges of the full graph: each resource's dependencies, without those implied by the tree
 * (a dependency on its own ancestor or descendant, or one its parent component already has), and
 * with a dependency on every step of a component drawn once, to the component.
 */
export function fullGraphEdges(model: PlanModel): GraphEdge[] {
    const components = model.resources
        .filter((r) => !r.isStep)
        .map((component) => ({ component, steps: stepsUnder(component), depth: depthOf(component) }))
        .filter((c) => c.steps.length >= 2)
        .sort((a, b) => a.depth - b.depth || a.component.index - b.component.index);
    const edges: GraphEdge[] = [];
    for (const dependent of model.resources) {
        const inheritedFromParents = new Set<PlanResource>();
        for (let at = dependent.parent; at; at = at.parent) at.waitsFor.forEach((w) => inheritedFromParents.add(w));
        const remaining = new Set(
            dependent.waitsFor.filter(
                (w) => !isAncestorOrSelf(w, dependent) && !isAncestorOrSelf(dependent, w) && !inheritedFromParents.has(w),
            ),
        );
        for (const { component, steps } of components) {
            if (isAncestorOrSelf(component, dependent) || isAncestorOrSelf(dependent, component)) continue;
            if (steps.every((step) => remaining.has(step))) {
                edges.push({ from: component, to: dependent });
                steps.forEach((step) => remaining.delete(step));
            }
        }
        for (const dependency of [...remaining].sort((a, b) => a.index - b.index)) {
            edges.push({ from: dependency, to: dependent });
        }
    }
    return edges;
}

function depthOf(resource: PlanResource): number {
    let depth = 0;
    for (let at = resource.parent; at; at = at.parent) depth++;
    return depth;
}

/** Stable identifiers for Mermaid and Graphviz, derived from names so diffs stay small. */
function identifiers(resources: readonly PlanResource[]): Map<PlanResource, string> {
    const ids = new Map<PlanResource, string>();
    const used = new Set<string>();
    for (const resource of resources) {
        const base = `${resource.isStep ? "r" : "c"}_${resource.name.replace(/[^A-Za-z0-9]+/g, "_")}`;
        let id = base;
        for (let n = 2; used.has(id); n++) id = `${base}_${n}`;
        used.add(id);
        ids.set(resource, id);
    }
    return ids;
}

const mermaidText = (text: string) => text.replace(/"/g, "#quot;");

function mermaidNode(id: string, label: string, shape: StepKind["shape"]): string {
    const text = `"${mermaidText(label)}"`;
    switch (shape) {
        case "stadium":
            return `${id}([${text}])`;
        case "hexagon":
            return `${id}{{${text}}}`;
        case "parallelogram":
            return `${id}[/${text}/]`;
        case "cylinder":
            return `${id}[(${text})]`;
        case "circle":
            return `${id}((${text}))`;
        default:
            return `${id}[${text}]`;
    }
}

const componentTitle = (component: PlanResource) => `${component.type.split(":").pop()} ${component.name}`;

/** The full dependency graph as a Mermaid flowchart, one subgraph per component. */
export function renderMermaid(model: PlanModel): string {
    const ids = identifiers(model.resources);
    const lines = [
        "flowchart TB",
        `    %% ${model.project} stack ${model.stack}: every resource 'pulumi up' creates (npm run plan).`,
        "    %% Arrows point from a dependency to what waits for it; boxes are components.",
    ];
    const emit = (resource: PlanResource, indent: string) => {
        if (resource.isStep) {
            lines.push(`${indent}${mermaidNode(ids.get(resource)!, `${resource.name}<br/>${displayType(resource.type)}`, resource.kind.shape)}`);
            // A step's own children (rare) follow it at the same level.
            resource.children.forEach((child) => emit(child, indent));
            return;
        }
        lines.push(`${indent}subgraph ${ids.get(resource)!}["${mermaidText(componentTitle(resource))}"]`);
        resource.children.forEach((child) => emit(child, `${indent}    `));
        lines.push(`${indent}end`);
    };
    model.roots.forEach((root) => emit(root, "    "));
    for (const edge of fullGraphEdges(model)) {
        lines.push(`    ${ids.get(edge.from)!} --> ${ids.get(edge.to)!}`);
    }
    return `${lines.join("\n")}\n`;
}

const dotText = (text: string) => text.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
const dotShapes: Record<StepKind["shape"], string> = {
    rect: "box",
    stadium: "box, style=rounded",
    hexagon: "hexagon",
    parallelogram: "parallelogram",
    cylinder: "cylinder",
    circle: "ellipse",
};

/** The full dependency graph for Graphviz (`dot -Tsvg graph.dot`), components as clusters. */
export function renderDot(model: PlanModel): string {
    const ids = identifiers(model.resources);
    // Graphviz draws edges between nodes; a component's edge attaches to a node inside it and is clipped to its cluster.
    const anchors = new Map<PlanResource, string>();
    const lines = [
        `// ${model.project} stack ${model.stack}: every resource 'pulumi up' creates (npm run plan). Arrows: dependency -> dependent.`,
        "digraph plan {",
        "    rankdir=TB;",
        "    compound=true;",
        '    node [shape=box, fontname="Helvetica", fontsize=10];',
    ];
    const emit = (resource: PlanResource, indent: string) => {
        const id = ids.get(resource)!;
        if (resource.isStep) {
            lines.push(`${indent}${id} [label="${dotText(`${resource.name}\n${displayType(resource.type)}`)}", shape=${dotShapes[resource.kind.shape]}];`);
            resource.children.forEach((child) => emit(child, indent));
            return;
        }
        lines.push(`${indent}subgraph cluster_${id} {`, `${indent}    label="${dotText(componentTitle(resource))}";`);
        const firstStep = stepsUnder(resource)[0];
        if (firstStep) {
            anchors.set(resource, ids.get(firstStep)!);
        } else {
            lines.push(`${indent}    ${id}_anchor [shape=point, style=invis];`);
            anchors.set(resource, `${id}_anchor`);
        }
        resource.children.forEach((child) => emit(child, `${indent}    `));
        lines.push(`${indent}}`);
    };
    model.roots.forEach((root) => emit(root, "    "));
    for (const { from, to } of fullGraphEdges(model)) {
        const attributes = [
            ...(from.isStep ? [] : [`ltail=cluster_${ids.get(from)!}`]),
            ...(to.isStep ? [] : [`lhead=cluster_${ids.get(to)!}`]),
        ];
        const tail = from.isStep ? ids.get(from)! : anchors.get(from)!;
        const head = to.isStep ? ids.get(to)! : anchors.get(to)!;
        lines.push(`    ${tail} -> ${head}${attributes.length ? ` [${attributes.join(", ")}]` : ""};`);
    }
    lines.push("}");
    return `${lines.join("\n")}\n`;
}

/** The major steps and the arrows between them once minor steps are contracted and redundant arrows dropped. */
export function compactGraph(model: PlanModel): { steps: PlanResource[]; edges: [PlanResource, PlanResource][] } {
    const steps = model.resources.filter((r) => r.isStep && r.kind.major);
    const majorDependencies = new Map<PlanResource, Set<PlanResource>>();
    const majorsBehind = (resource: PlanResource): Set<PlanResource> => {
        const known = majorDependencies.get(resource);
        if (known) return known;
        const found = new Set<PlanResource>();
        majorDependencies.set(resource, found); // guards against cycles
        for (const dependency of resource.waitsFor) {
            if (dependency.kind.major) found.add(dependency);
            else majorsBehind(dependency).forEach((m) => found.add(m));
        }
        return found;
    };
    const reachable = new Map<PlanResource, Set<PlanResource>>();
    const ancestorsOf = (step: PlanResource): Set<PlanResource> => {
        const known = reachable.get(step);
        if (known) return known;
        const all = new Set<PlanResource>();
        reachable.set(step, all);
        for (const dependency of majorsBehind(step)) {
            all.add(dependency);
            ancestorsOf(dependency).forEach((a) => all.add(a));
        }
        return all;
    };
    const edges: [PlanResource, PlanResource][] = [];
    for (const step of steps) {
        const direct = [...majorsBehind(step)];
        // Transitive reduction: drop an arrow another path already implies.
        for (const dependency of direct.sort((a, b) => a.index - b.index)) {
            if (!direct.some((other) => other !== dependency && ancestorsOf(other).has(dependency))) {
                edges.push([dependency, step]);
            }
        }
    }
    return { steps, edges };
}

/**
 * The README's picture: the major steps of `pulumi up` (VMs, prepare, HA endpoint, kubeadm init and
 * joins, API readiness, charts), grouped by node, with minor steps (staged files, credential
 * reads, lookups) contracted away and arrows implied by others dropped so it stays readable.
 */
export function renderCompactMermaid(model: PlanModel): string {
    const { steps, edges } = compactGraph(model);
    const ids = identifiers(steps);
    const lines = ["flowchart TB"];
    const nodeGroups = model.nodes
        .map((node) => ({ node, members: steps.filter((s) => s.node === node) }))
        .filter((group) => group.members.length > 0);
    const outside = steps.filter((s) => !s.node);
    for (const step of outside.filter((s) => s.kind.kind.endsWith("provider"))) {
        lines.push(`    ${mermaidNode(ids.get(step)!, `${step.kind.label}<br/>${step.name}`, step.kind.shape)}`);
    }
    for (const { node, members } of nodeGroups) {
        lines.push(`    subgraph n_${node.name.replace(/[^A-Za-z0-9]+/g, "_")}["${mermaidText(`${node.name} (${node.role}, ${node.address})`)}"]`);
        for (const step of members) lines.push(`        ${mermaidNode(ids.get(step)!, step.kind.label, step.kind.shape)}`);
        lines.push("    end");
    }
    const clusterSteps = outside.filter((s) => !s.kind.kind.endsWith("provider"));
    if (clusterSteps.length > 0) {
        lines.push('    subgraph cluster["cluster (through the Kubernetes API)"]');
        for (const step of clusterSteps) {
            const label = step.kind.kind === "chart" ? `${step.kind.label}<br/>${step.name}` : step.kind.label;
            lines.push(`        ${mermaidNode(ids.get(step)!, label, step.kind.shape)}`);
        }
        lines.push("    end");
    }
    for (const [from, to] of edges) lines.push(`    ${ids.get(from)!} --> ${ids.get(to)!}`);
    return `${lines.join("\n")}\n`;
}
