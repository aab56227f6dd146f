import * as YAML from "yaml";

/**
 * Serializes a value as YAML the way every rendered file is written: without the `yaml` package's
 * 80-column folding, so a long SSH key, certificate line or template line stays on one line (still
 * valid when folded, but unreadable in the plan and easy to break when copied).
 */
export function stringifyYaml(value: unknown): string {
    return YAML.stringify(value, { lineWidth: 0 });
}
