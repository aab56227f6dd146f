/**
 * Evaluates the real program (index.ts) under mocks with a given stack config, the way
 * `pulumi up` would run it, and returns what it registered.
 */
import { defaultBehaviour, installMocks, MockBehaviour, MockRecorder, settled } from "./pulumiMocks";
import { RawStackConfig, useStackConfig } from "./stackConfig";

/** Clears the recorder, sets the config (and any mock behaviour over the defaults) and returns a loader that runs index.ts afresh. */
function prepareProgram(config: RawStackConfig, behaviour: Partial<MockBehaviour> = {}): { recorder: MockRecorder; load: () => Record<string, unknown> } {
    const recorder = installMocks();
    recorder.clear();
    recorder.behaviour = { ...defaultBehaviour, ...behaviour };
    useStackConfig(config);
    const indexPath = require.resolve("../../index");
    delete require.cache[indexPath];
    return { recorder, load: () => require(indexPath) as Record<string, unknown> };
}

/** Runs index.ts once; resolves to the recorder with every registration, or rejects with the program's error. */
export async function evaluateProgram(config: RawStackConfig, behaviour: Partial<MockBehaviour> = {}): Promise<{ recorder: MockRecorder; exports: Record<string, unknown> }> {
    const { recorder, load } = prepareProgram(config, behaviour);
    const exports = load();
    await settled();
    recorder.sortByDeclaration();
    return { recorder, exports };
}

/** Runs index.ts expecting a config error; returns the error and what was registered before it. */
export async function evaluateProgramError(config: RawStackConfig): Promise<{ error: Error; recorder: MockRecorder }> {
    const { recorder, load } = prepareProgram(config);
    try {
        load();
    } catch (error) {
        await settled();
        return { error: error as Error, recorder };
    }
    throw new Error("the program accepted the config; expected a config error");
}
