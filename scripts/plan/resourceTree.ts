/** resources.txt: the resource tree as `pulumi preview` lists it for a first `pulumi up`. */
import { displayType, PlanModel, PlanResource } from "./model";

/** Renders the tree under the stack, each line marked `+` (create), with a count like preview's. */
export function renderResourceTree(model: PlanModel): string {
    const rows: { prefix: string; type: string; name: string }[] = [
        { prefix: "", type: "pulumi:pulumi:Stack", name: `${model.project}-${model.stack}` },
    ];
    const walk = (children: readonly PlanResource[], indent: string) => {
        children.forEach((child, i) => {
            const last = i === children.length - 1;
            rows.push({ prefix: `${indent}${last ? "└─ " : "├─ "}`, type: displayType(child.type), name: child.name });
            walk(child.children, `${indent}${last ? "   " : "│  "}`);
        });
    };
    walk(model.roots, "");
    const typeWidth = Math.max("Type".length, ...rows.map((r) => r.prefix.length + r.type.length));
    const nameWidth = Math.max("Name".length, ...rows.map((r) => r.name.length));
    const line = (marker: string, left: string, name: string, plan: string) =>
        `${marker.padEnd(5)}${left.padEnd(typeWidth)}  ${name.padEnd(nameWidth)}  ${plan}`.trimEnd();
    return [
        `Previewing update (${model.stack}), offline: evaluated under mocks by 'npm run plan -- --stack ${model.stack}'`,
        "",
        line("", "Type", "Name", "Plan"),
        ...rows.map((r) => line(" +", `${r.prefix}${r.type}`, r.name, "create")),
        "",
        "Resources:",
        `    + ${rows.length} to create`,
        "",
    ].join("\n");
}
