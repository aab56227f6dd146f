/**
 * Runs the real program under Pulumi's own unit-test mechanism (`pulumi.runtime.setMocks`) and
 * records every resource registration as the engine would receive it: type, name, parent, inputs
 * (with secrets still marked), dependencies, and options such as deletedWith. Unit tests and
 * `npm run plan` both stand on it.
 *
 * Install it before the program's modules are imported, once per process.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { CertificateRenewalInputs, nextRenewalState } from "../../providers/certificateRenewal";

/** The wire marker of a secret value in a serialized property struct. */
const secretSignature = "1b47061264138c4ac30d75fd1eb44270";
const specialSigKey = "4dabf18193072939515e22adb298388d";

/** One resource as the mock engine saw it. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly parent: string;
    readonly custom: boolean;
    /** Inputs with secrets unwrapped (what the provider would get). */
    readonly inputs: Record<string, any>;
    /** The state the mock provider returned (outputs), secrets unwrapped. */
    readonly outputs: Record<string, any>;
    /** Inputs as sent on the wire, secrets still wrapped: see {@link secretValues} and {@link plainValues}. */
    readonly wireInputs: Record<string, unknown>;
    /** URNs this resource depends on: explicit dependsOn plus every Output it was given. */
    readonly dependencies: readonly string[];
    /** Per input property, the URNs its value came from. */
    readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
    readonly deletedWith: string;
    /** URNs whose replacement replaces this resource too (issue 11). */
    readonly replaceWith: string[];
    readonly deleteBeforeReplace: boolean;
    /** The engine drops the resource from state on delete without calling its provider. */
    readonly retainOnDelete: boolean;
    readonly additionalSecretOutputs: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly ignoreChanges: readonly string[];
    readonly provider: string;
    /** Plugin version requested for the resource's provider ("" when none). */
    readonly version: string;
    readonly customTimeouts?: { create: string; update: string; delete: string };
}

/** One provider function call (invoke). */
export interface RecordedInvoke {
    readonly token: string;
    readonly inputs: Record<string, any>;
    /** Plugin version requested ("" when none). */
    readonly version: string;
    readonly provider: string;
}

/** What the mocks answer: overridable per test, defaults model a healthy lab. */
export interface MockBehaviour {
    /** stdout of a remote/local Command, by its resource name. */
    commandStdout(name: string, inputs: Record<string, any>): string;
    /** Result of an invoke (vSphere lookups). */
    invoke(token: string, inputs: Record<string, any>): Record<string, unknown>;
    /** Output state merged last into a resource's mocked state, e.g. a node's ResizeId after a size change (none by default). */
    resourceState?(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> | undefined;
}

/** A fixed, recognisable fake kubeconfig: what node 0's admin.conf read returns under mocks. */
export const mockKubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    "    certificate-authority-data: TU9DSy1DQS1DRVJU",
    "    server: https://k8s.lab.example:443",
    "  name: lab",
    "users:",
    "- name: kubernetes-admin",
    "  user:",
    "    client-certificate-data: TU9DSy1DTElFTlQtQ0VSVA==",
    "    client-key-data: TU9DSy1DTElFTlQtS0VZ",
    "contexts:",
    "- context: {cluster: lab, user: kubernetes-admin}",
    "  name: kubernetes-admin@lab",
    "current-context: kubernetes-admin@lab",
    "",
].join("\n");

/** The discovery hash node 0 reports under mocks. */
export const mockCaCertHash = `sha256:${"ab".repeat(32)}`;
/** The cluster CA node 0 reports under mocks. */
export const mockCaCertificate = "-----BEGIN CERTIFICATE-----\nTU9DSy1DQS1DRVJU\n-----END CERTIFICATE-----\n";

/** The template lookup's result under mocks: a stock Ubuntu cloud-image template (10 GB disk, vApp off). */
export const mockTemplate = {
    id: "vm-template",
    uuid: "4216b7b1-0000-4000-8000-000000000001",
    guestId: "ubuntu64Guest",
    firmware: "efi",
    scsiType: "pvscsi",
    networkInterfaceTypes: ["vmxnet3"],
    vappTransports: [] as string[],
    disks: [{ label: "disk0", size: 10, thinProvisioned: true, eagerlyScrub: false, unitNumber: 0 }],
};

/**
 * What join-credentials-mint.sh prints for a join (issue 15): a token and, for a control plane, a
 * certificate key of kubeadm's forms, derived from the command's name (each join its own).
 */
export function mockMintedCredentials(commandName: string, controlPlane: boolean): { token: string; certificateKey: string } {
    const hex = crypto.createHash("sha256").update(`minted ${commandName}`).digest("hex");
    return { token: `${hex.slice(0, 6)}.${hex.slice(6, 22)}`, certificateKey: controlPlane ? crypto.createHash("sha256").update(hex).digest("hex") : "" };
}

export const defaultBehaviour: MockBehaviour = {
    commandStdout(name, inputs) {
        if (name.endsWith("-join-credentials")) {
            return `${JSON.stringify(mockMintedCredentials(name, String(inputs.create).includes("JOIN_ROLE='control-plane'")))}\n`;
        }
        if (name.endsWith("-ca-cert-hash")) return mockCaCertHash;
        if (name.endsWith("-kubeconfig")) return mockKubeconfig;
        if (name.endsWith("-ca-cert")) return mockCaCertificate;
        return "";
    },
    invoke(token, inputs) {
        const id = `${token.split(":").pop()}-${String(inputs.name ?? "x").replace(/[^A-Za-z0-9]+/g, "-")}`;
        switch (token) {
            case "vsphere:index/getComputeCluster:getComputeCluster":
                return { id, name: inputs.name, resourcePoolId: `resgroup-${inputs.name}` };
            case "vsphere:index/getNetwork:getNetwork":
                return { id, name: inputs.name, type: "Network" };
            case "vsphere:index/getVirtualMachine:getVirtualMachine":
                return { ...mockTemplate, id };
            default:
                return { id, name: inputs.name };
        }
    },
};

/** Deterministic fake values for @pulumi/random resources, shaped like the real ones. */
function randomState(type: string, name: string, inputs: Record<string, any>): Record<string, unknown> {
    const seed = crypto.createHash("sha256").update(name).digest();
    const alphabet = (lower: boolean, upper: boolean, numeric: boolean) =>
        `${lower ? "abcdefghijklmnopqrstuvwxyz" : ""}${upper ? "ABCDEFGHIJKLMNOPQRSTUVWXYZ" : ""}${numeric ? "0123456789" : ""}`;
    const pick = (length: number, chars: string) =>
        Array.from({ length }, (_, i) => chars[seed[i % seed.length] % chars.length]).join("");
    switch (type) {
        case "random:index/randomString:RandomString":
        case "random:index/randomPassword:RandomPassword": {
            const chars = alphabet(inputs.lower !== false, inputs.upper !== false, inputs.numeric !== false) || "a";
            return { result: pick(inputs.length ?? 16, chars) };
        }
        case "random:index/randomBytes:RandomBytes": {
            const bytes = crypto.createHash("sha512").update(name).digest().subarray(0, inputs.length ?? 32);
            return { hex: bytes.toString("hex"), base64: bytes.toString("base64") };
        }
        case "random:index/randomId:RandomId": {
            const bytes = seed.subarray(0, inputs.byteLength ?? 8);
            return { hex: bytes.toString("hex"), b64Std: bytes.toString("base64"), dec: "0" };
        }
        default:
            return {};
    }
}

/**
 * Deterministic fake @pulumi/tls PrivateKey (ED25519): a real key pair derived from the resource
 * name, the public key in authorized_keys form as the provider gives it (`publicKeyOpenssh`), the
 * private key in an OpenSSH-looking PEM block (its body is the PKCS#8 key: enough for tests).
 */
function tlsPrivateKeyState(name: string): Record<string, unknown> {
    const seed = crypto.createHash("sha256").update(`ssh-host-key:${name}`).digest();
    // PKCS#8 DER of an Ed25519 private key: a fixed 16-byte prefix, then the 32-byte seed (RFC 8410).
    const privateKey = crypto.createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
    const rawPublic = (crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" }) as Buffer).subarray(-32);
    const sshString = (data: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
    const publicBlob = Buffer.concat([sshString(Buffer.from("ssh-ed25519")), sshString(rawPublic)]);
    const pkcs8 = (privateKey.export({ format: "der", type: "pkcs8" }) as Buffer).toString("base64");
    return {
        publicKeyOpenssh: `ssh-ed25519 ${publicBlob.toString("base64")}\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\n${pkcs8}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyFingerprintSha256: `SHA256:${crypto.createHash("sha256").update(publicBlob).digest("base64").replace(/=+$/, "")}`,
    };
}

/** Records registrations of one program evaluation. */
export class MockRecorder {
    public readonly resources: RecordedResource[] = [];
    public readonly invokes: RecordedInvoke[] = [];
    public behaviour: MockBehaviour = defaultBehaviour;
    /** "type::name" of every resource in the order the program declared it (its constructor ran). */
    public readonly declared: string[] = [];

    /**
     * Puts `resources` in the order the program declared them. Registrations reach the engine when
     * their inputs resolve, and that order can change from one run to the next (a resource that
     * waits for another's URN, e.g. a VM for its node's resize drain); the declaration order is
     * the program's own, the same on every run.
     */
    sortByDeclaration(): void {
        const index = new Map<string, number>();
        this.declared.forEach((key, i) => {
            if (!index.has(key)) index.set(key, i);
        });
        const position = (r: RecordedResource) => index.get(`${r.type}::${r.name}`) ?? Number.MAX_SAFE_INTEGER;
        const sorted = this.resources.map((r, i) => ({ r, i })).sort((a, b) => position(a.r) - position(b.r) || a.i - b.i);
        this.resources.splice(0, this.resources.length, ...sorted.map(({ r }) => r));
    }

    /** Registered resources of a type token. */
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The resource with this name (and type, when names repeat across types); throws if absent. */
    named(name: string, type?: string): RecordedResource {
        const found = this.resources.find((r) => r.name === name && (type === undefined || r.type === type));
        if (!found) {
            throw new Error(`no resource named ${name}${type ? ` of type ${type}` : ""}; have: ${this.resources.map((r) => r.name).join(", ")}`);
        }
        return found;
    }

    /** True when `dependent` waits for `dependency`: see {@link resourceDependsOn}. */
    dependsOn(dependent: RecordedResource, dependency: RecordedResource): boolean {
        return resourceDependsOn(this.resources, dependent, dependency);
    }

    clear(): void {
        this.resources.length = 0;
        this.declared.length = 0;
        this.invokes.length = 0;
        this.behaviour = defaultBehaviour;
    }
}

/**
 * True when `dependent` waits for `dependency`, directly or through other resources of
 * `resources`. As in the engine, depending on a component means depending on all its children; a
 * resource does not depend on its parent or its parent's other children.
 */
export function resourceDependsOn(resources: readonly RecordedResource[], dependent: RecordedResource, dependency: RecordedResource): boolean {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const seen = new Set<string>();
    const stack = [...dependent.dependencies];
    while (stack.length > 0) {
        const urn = stack.pop()!;
        if (urn === dependency.urn) return true;
        if (seen.has(urn)) continue;
        seen.add(urn);
        const next = byUrn.get(urn);
        if (!next) continue;
        stack.push(...next.dependencies);
        if (!next.custom) {
            stack.push(...resources.filter((r) => r.parent === urn).map((r) => r.urn));
        }
    }
    return false;
}

/** Every secret value sent anywhere in a wire struct. */
export function secretValues(wire: unknown): string[] {
    const found: string[] = [];
    const walk = (value: unknown, insideSecret: boolean) => {
        if (typeof value === "string") {
            if (insideSecret) found.push(value);
        } else if (Array.isArray(value)) {
            value.forEach((v) => walk(v, insideSecret));
        } else if (value && typeof value === "object") {
            const record = value as Record<string, unknown>;
            const isSecret = record[specialSigKey] === secretSignature;
            for (const [key, child] of Object.entries(record)) {
                if (key !== specialSigKey) walk(child, insideSecret || isSecret);
            }
        }
    };
    walk(wire, false);
    return found;
}

/** Every plain (non-secret) string sent in a wire struct, with its property path. */
export function plainValues(wire: unknown): { path: string; value: string }[] {
    const found: { path: string; value: string }[] = [];
    const walk = (value: unknown, path: string) => {
        if (typeof value === "string") {
            found.push({ path, value });
        } else if (Array.isArray(value)) {
            value.forEach((v, i) => walk(v, `${path}[${i}]`));
        } else if (value && typeof value === "object") {
            const record = value as Record<string, unknown>;
            if (record[specialSigKey] === secretSignature) return;
            for (const [key, child] of Object.entries(record)) {
                if (key !== specialSigKey) walk(child, path ? `${path}.${key}` : key);
            }
        }
    };
    walk(wire, "");
    return found;
}

let installed: MockRecorder | undefined;

/**
 * Installs the mocks (not a preview: under mocks, unknown values hang a preview) and returns the
 * recorder. Idempotent per process.
 */
export function installMocks(stack = "test"): MockRecorder {
    if (installed) return installed;
    const recorder = new MockRecorder();
    pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
                const state: Record<string, any> = { ...args.inputs };
                if (args.type === "command:remote:Command" || args.type === "command:local:Command") {
                    state.stdout = recorder.behaviour.commandStdout(args.name, args.inputs);
                    state.stderr = "";
                } else if (args.type.startsWith("random:")) {
                    Object.assign(state, randomState(args.type, args.name, args.inputs));
                } else if (args.type === "tls:index/privateKey:PrivateKey") {
                    Object.assign(state, tlsPrivateKeyState(args.name));
                } else if (args.type === "vsphere:index/virtualMachine:VirtualMachine") {
                    Object.assign(state, { moid: `vm-${args.name}`, uuid: `uuid-${args.name}`, powerState: "on", defaultIpAddress: "" });
                } else if (args.type === "pulumi-nodejs:dynamic:Resource" && "caCertificate" in args.inputs) {
                    state.gitVersion = "v1.34.2";
                } else if (args.type === "pulumi-nodejs:dynamic/lab:CertificateRenewal") {
                    // The certificate renewal schedule, as its provider's create makes it.
                    Object.assign(state, nextRenewalState(undefined, args.inputs as CertificateRenewalInputs, Date.now()));
                } else if (args.type === "pulumi-nodejs:dynamic/lab:ResizeId") {
                    // As its provider's create makes it: the node's size never changed.
                    state.resizeId = "";
                }
                Object.assign(state, recorder.behaviour.resourceState?.(args.type, args.name, args.inputs) ?? {});
                return { id: args.type.startsWith("pulumi:providers:") ? "provider-id" : `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
                return recorder.behaviour.invoke(args.token, args.inputs);
            },
        },
        "k8s-vsphere-lab",
        stack,
        false,
    );

    // Observe the requests as the engine receives them: dependencies and options live there.
    const monitor = (pulumi.runtime as any).getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) => {
        register(req, (err: any, resp: any) => {
            if (!err) {
                const wire = req.getObject()?.toJavaScript() ?? {};
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps: any, key: string) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                const timeouts = req.getCustomtimeouts();
                recorder.resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    parent: req.getParent(),
                    custom: req.getCustom(),
                    inputs: unwrapSecrets(wire) as Record<string, any>,
                    outputs: unwrapSecrets(resp.getObject()?.toJavaScript() ?? {}) as Record<string, any>,
                    wireInputs: wire,
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    deletedWith: req.getDeletedwith(),
                    replaceWith: req.getReplaceWithList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    retainOnDelete: Boolean(req.getRetainondelete?.()),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                    ignoreChanges: req.getIgnorechangesList(),
                    provider: req.getProvider(),
                    version: req.getVersion(),
                    customTimeouts: timeouts ? { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() } : undefined,
                });
            }
            callback(err, resp);
        });
    };
    const invoke = monitor.invoke.bind(monitor);
    monitor.invoke = (req: any, callback: (err: any, resp: any) => void) => {
        recorder.invokes.push({
            token: req.getTok(),
            inputs: unwrapSecrets(req.getArgs()?.toJavaScript() ?? {}) as Record<string, any>,
            version: req.getVersion(),
            provider: req.getProvider(),
        });
        invoke(req, callback);
    };
    // Observe the declarations: the Resource constructor calls the runtime's registerResource at
    // once (through the module object, so this wrapper sees it), before any input resolves.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const runtimeResource = require("@pulumi/pulumi/runtime/resource");
    const declare = runtimeResource.registerResource;
    runtimeResource.registerResource = (res: unknown, parent: unknown, type: string, name: string, ...rest: unknown[]) => {
        recorder.declared.push(`${type}::${name}`);
        return declare(res, parent, type, name, ...rest);
    };
    installed = recorder;
    return recorder;
}

function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[specialSigKey] === secretSignature) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
    }
    return value;
}

/** The value of an Output, for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** Waits until every registration and output resolution the program started has finished. */
export async function settled(): Promise<void> {
    await (pulumi.runtime as any).waitForRPCs();
}
