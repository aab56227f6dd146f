import Module from "module";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

/** Loads a serialized dynamic provider (a resource's `__provider` input) the way Pulumi's dynamic-provider host does. */
export function loadSerializedProvider(text: string): pulumi.dynamic.ResourceProvider {
    type CompilableModule = Module & { _compile(code: string, filename: string): void };
    const loaded = new Module("serialized-provider.js", module) as CompilableModule;
    loaded.paths = module.paths;
    loaded._compile(text, path.join(__dirname, "serialized-provider.js"));
    return (loaded.exports as { handler(): pulumi.dynamic.ResourceProvider }).handler();
}
