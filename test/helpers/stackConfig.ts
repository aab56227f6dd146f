/**
 * Stack config for tests and the offline plan: the real Pulumi.<stack>.yaml, read as Pulumi hands
 * it to a program (every value a string, lists and objects as JSON), with secure values replaced by
 * placeholders that are never decrypted.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { ConfigSource } from "../../components/config";
import { configKeys, fullKey, vsphereProviderKeys } from "../../components/configSchema";
import { projectRoot } from "../../components/render/manifests";

/** Raw config values by full key, and which of them are secret. */
export interface RawStackConfig {
    readonly values: Record<string, string>;
    readonly secretKeys: readonly string[];
    /** Secret keys the stack file does not set (placeholders stand in; `pulumi up` will need them). */
    readonly missingSecretKeys?: readonly string[];
}

/** Every secret key the program reads; a plan supplies a placeholder for each one a stack file lacks. */
export const secretConfigKeys: readonly string[] = [
    vsphereProviderKeys.password,
    ...Object.entries(configKeys)
        .filter(([, spec]) => "secret" in spec && spec.secret)
        .map(([key]) => fullKey(key)),
];

/** Secret keys read only when another key asks for them: not reported missing by a plan. */
const optionalSecretKeys: ReadonlySet<string> = new Set(
    Object.entries(configKeys)
        .filter(([, spec]) => "optional" in spec && spec.optional)
        .map(([key]) => fullKey(key)),
);

/** The placeholder standing in for a secret: recognisable, never a real credential. */
export function secretPlaceholder(key: string): string {
    return `<secret ${key} from the stack's encrypted config>`;
}

/** Reads Pulumi.<stack>.yaml; secure values and missing secrets become placeholders. */
export function readStackConfig(stack: string, dir: string = projectRoot): RawStackConfig {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`no stack file ${file}: create it (copy Pulumi.lab.yaml) or pick another --stack`);
    }
    const document = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(document.config ?? {})) {
        const name = fullKey(key);
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            values[name] = secretPlaceholder(name);
            secretKeys.add(name);
        } else {
            values[name] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    const missingSecretKeys: string[] = [];
    for (const key of secretConfigKeys) {
        if (!(key in values)) {
            values[key] = secretPlaceholder(key);
            if (!optionalSecretKeys.has(key)) missingSecretKeys.push(key);
        }
        secretKeys.add(key);
    }
    return { values, secretKeys: [...secretKeys], missingSecretKeys };
}

/** A ConfigSource over plain maps (what parseLabConfig reads in tests). */
export function mapConfigSource(config: RawStackConfig): ConfigSource {
    return {
        raw: (key) => config.values[key],
        secret: (key) => (key in config.values ? pulumi.secret(config.values[key]) : undefined),
        keys: () => Object.keys(config.values),
    };
}

/**
 * The lab stack's config with changes: a key set to undefined is removed, others are set
 * (objects and lists given as values, converted to JSON like Pulumi does).
 */
export function labConfigWith(changes: Record<string, unknown> = {}): RawStackConfig {
    const base = readStackConfig("lab");
    const values = { ...base.values };
    for (const [key, value] of Object.entries(changes)) {
        const name = fullKey(key);
        if (value === undefined) {
            delete values[name];
        } else {
            values[name] = typeof value === "string" ? value : JSON.stringify(value);
        }
    }
    return { values, secretKeys: base.secretKeys };
}

/** Makes the config visible to the program through Pulumi's runtime (as `pulumi up` would). */
export function useStackConfig(config: RawStackConfig): void {
    pulumi.runtime.setAllConfig(config.values, [...config.secretKeys]);
}
