/**
 * Small, dependency-free checks of objects against the schemas charts and CRDs ship: a JSON
 * Schema / OpenAPI v3 subset (type, enum, pattern, properties, required, additionalProperties, items,
 * minimum, local $ref, allOf/anyOf/oneOf), Helm's value merge, and a key-path walk over a
 * chart's values.yaml. Each returns every problem found (empty = valid) so a test can show them.
 */

type Schema = Record<string, any>;

/** How strictly unknown object properties are treated. */
export interface SchemaOptions {
    /**
     * Treat a property the schema does not list as an error even without
     * `additionalProperties: false`. For CRDs: the API server silently prunes unknown fields of a
     * structural schema, so a misspelled field would vanish instead of failing.
     */
    readonly rejectUnknownProperties?: boolean;
}

function typeOf(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
    switch (type) {
        case "integer":
            return typeof value === "number" && Number.isInteger(value);
        case "number":
            return typeof value === "number";
        case "object":
            return typeOf(value) === "object";
        default:
            return typeOf(value) === type;
    }
}

/** Validates `value` against `schema`; `root` resolves `#/...` references. */
export function validateSchema(value: unknown, schema: Schema, options: SchemaOptions = {}, root: Schema = schema, path = "$"): string[] {
    if (schema.$ref !== undefined) {
        const ref = String(schema.$ref);
        if (!ref.startsWith("#/")) return [`${path}: unsupported $ref ${ref}`];
        const target = ref
            .slice(2)
            .split("/")
            .reduce<any>((node, key) => (node === undefined ? undefined : node[key.replace(/~1/g, "/").replace(/~0/g, "~")]), root);
        if (target === undefined) return [`${path}: $ref ${ref} does not resolve`];
        return validateSchema(value, target, options, root, path);
    }
    const problems: string[] = [];
    if (schema.type !== undefined) {
        const types: string[] = Array.isArray(schema.type) ? schema.type : [schema.type];
        // OpenAPI's nullable: null is allowed besides the declared type.
        if (schema.nullable === true) types.push("null");
        if (!types.some((t) => matchesType(value, t))) {
            return [`${path}: is ${typeOf(value)} ${JSON.stringify(value)}, schema wants ${types.join(" or ")}`];
        }
    }
    if (schema.enum !== undefined && !(schema.enum as unknown[]).some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
        problems.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
    }
    // Go's RE2 patterns of CRDs (Flux's durations, names) are also valid JavaScript patterns.
    if (typeof schema.pattern === "string" && typeof value === "string" && !new RegExp(schema.pattern, "u").test(value)) {
        problems.push(`${path}: ${JSON.stringify(value)} does not match the pattern ${schema.pattern}`);
    }
    if (typeof schema.minimum === "number" && typeof value === "number" && value < schema.minimum) {
        problems.push(`${path}: ${value} is below the minimum ${schema.minimum}`);
    }
    for (const sub of (schema.allOf ?? []) as Schema[]) {
        problems.push(...validateSchema(value, sub, options, root, path));
    }
    if (schema.anyOf !== undefined) {
        const results = (schema.anyOf as Schema[]).map((sub) => validateSchema(value, sub, options, root, path));
        if (!results.some((r) => r.length === 0)) problems.push(`${path}: matches none of anyOf (${results.map((r) => r.join("; ")).join(" | ")})`);
    }
    if (schema.oneOf !== undefined) {
        const matching = (schema.oneOf as Schema[]).filter((sub) => validateSchema(value, sub, options, root, path).length === 0).length;
        if (matching !== 1) problems.push(`${path}: matches ${matching} of oneOf, needs exactly 1`);
    }
    if (typeOf(value) === "object") {
        const record = value as Record<string, unknown>;
        for (const key of (schema.required ?? []) as string[]) {
            if (!(key in record)) problems.push(`${path}: required property ${key} is missing`);
        }
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        for (const [key, child] of Object.entries(record)) {
            const childPath = `${path}.${key}`;
            if (key in properties) {
                problems.push(...validateSchema(child, properties[key], options, root, childPath));
            } else if (schema.additionalProperties === false) {
                problems.push(`${childPath}: not allowed (additionalProperties: false)`);
            } else if (typeof schema.additionalProperties === "object") {
                problems.push(...validateSchema(child, schema.additionalProperties, options, root, childPath));
            } else if (
                options.rejectUnknownProperties &&
                schema.properties !== undefined &&
                schema["x-kubernetes-preserve-unknown-fields"] !== true
            ) {
                problems.push(`${childPath}: not a property of the schema (${Object.keys(properties).join(", ")})`);
            }
        }
    }
    if (Array.isArray(value) && schema.items !== undefined) {
        value.forEach((item, index) => problems.push(...validateSchema(item, schema.items, options, root, `${path}[${index}]`)));
    }
    return problems;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeOf(value) === "object";
}

/** Helm's merge of user values over a chart's defaults: maps merge deeply, anything else replaces, null deletes. */
export function mergeHelmValues(defaults: unknown, overrides: unknown): unknown {
    if (!isPlainObject(defaults) || !isPlainObject(overrides)) {
        return overrides;
    }
    const merged: Record<string, unknown> = { ...defaults };
    for (const [key, value] of Object.entries(overrides)) {
        if (value === null) {
            delete merged[key];
        } else {
            merged[key] = key in defaults ? mergeHelmValues(defaults[key], value) : value;
        }
    }
    return merged;
}

/** Key paths that a chart's values.yaml leaves open or documents only in comments. */
export interface ValuesAllowances {
    /**
     * Paths whose value is an open map in values.yaml (`annotations: {}`): any keys may go in.
     * Listed one by one, so a key set under any other empty map still fails.
     */
    readonly openMaps?: readonly string[];
    /**
     * Paths that values.yaml documents only as commented-out YAML: the key must exist as a
     * commented key (`# key:`) in the file's text, and so must every key set beneath it.
     */
    readonly commentedOut?: readonly string[];
}

/** Every key set in `values` under `path`, depth first, as dotted paths (array items by their keys). */
function keysBeneath(value: unknown): string[] {
    if (Array.isArray(value)) return value.flatMap(keysBeneath);
    if (!isPlainObject(value)) return [];
    return Object.entries(value).flatMap(([key, child]) => [key, ...keysBeneath(child)]);
}

/**
 * Checks that every key path set in `values` exists in the chart's parsed values.yaml
 * (`defaults`), and that a scalar set over a non-null scalar default keeps its type. Returns the
 * problems.
 */
export function checkValuesAgainstChart(values: unknown, defaults: unknown, valuesText: string, allowances: ValuesAllowances = {}, path = ""): string[] {
    const problems: string[] = [];
    if (!isPlainObject(values)) return problems;
    for (const [key, value] of Object.entries(values)) {
        const keyPath = path ? `${path}.${key}` : key;
        if (allowances.commentedOut?.includes(keyPath)) {
            for (const commented of [key, ...keysBeneath(value)]) {
                const asComment = new RegExp(`^\\s*#\\s*(- )?${commented.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:`, "m");
                if (!asComment.test(valuesText)) problems.push(`${keyPath}: '${commented}' is not documented (even as a comment) in the chart's values.yaml`);
            }
            continue;
        }
        if (!isPlainObject(defaults) || !(key in defaults)) {
            problems.push(`${keyPath}: not a key of the chart's values.yaml`);
            continue;
        }
        const chartValue = defaults[key];
        if (isPlainObject(value)) {
            if (isPlainObject(chartValue) && Object.keys(chartValue).length > 0) {
                problems.push(...checkValuesAgainstChart(value, chartValue, valuesText, allowances, keyPath));
            } else if (!allowances.openMaps?.includes(keyPath)) {
                problems.push(`${keyPath}: the chart has ${JSON.stringify(chartValue)} here, not a map with these keys (an open map must be allow-listed)`);
            }
        } else if (chartValue !== null && chartValue !== undefined && typeOf(chartValue) !== typeOf(value)) {
            problems.push(`${keyPath}: is ${typeOf(value)}, the chart's default is ${typeOf(chartValue)} ${JSON.stringify(chartValue)}`);
        }
    }
    return problems;
}
