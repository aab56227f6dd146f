import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * The cluster's generated secrets, created once and kept in state (encrypted): the kubeadm
 * bootstrap token, the key that encrypts the control-plane certificates kubeadm uploads, the
 * keepalived VRRP password and the key that encrypts Secrets in etcd. Generated, not configured, so no human ever has to handle them.
 */
export class ClusterSecrets extends pulumi.ComponentResource {
    /** Bootstrap token `[a-z0-9]{6}.[a-z0-9]{16}` (secret). */
    public readonly bootstrapToken: pulumi.Output<string>;
    /** 32-byte certificate key as 64 lower-case hex characters (secret). */
    public readonly certificateKey: pulumi.Output<string>;
    /** keepalived `auth_pass`: 8 characters, the most VRRP's PASS scheme uses (secret). */
    public readonly keepalivedPassword: pulumi.Output<string>;
    /** Issue 15: 32 random bytes, base64, for the apiserver's secretbox encryption at rest (secret). */
    public readonly encryptionKey: pulumi.Output<string>;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:ClusterSecrets", name, {}, opts);
        const tokenPart = (part: string, length: number) =>
            new random.RandomPassword(
                `${name}-token-${part}`,
                { length, lower: true, numeric: true, upper: false, special: false },
                { parent: this },
            );
        const tokenId = tokenPart("id", 6);
        const tokenSecret = tokenPart("secret", 16);
        this.bootstrapToken = pulumi.secret(pulumi.interpolate`${tokenId.result}.${tokenSecret.result}`);

        const certificateKey = new random.RandomBytes(`${name}-certificate-key`, { length: 32 }, { parent: this });
        this.certificateKey = pulumi.secret(certificateKey.hex);

        const keepalived = new random.RandomPassword(
            `${name}-keepalived-password`,
            { length: 8, lower: true, upper: true, numeric: true, special: false },
            { parent: this },
        );
        this.keepalivedPassword = pulumi.secret(keepalived.result);

        // Never replaced (no input changes): a new key would leave every stored Secret unreadable.
        const encryptionKey = new random.RandomBytes(`${name}-encryption-key`, { length: 32 }, { parent: this });
        this.encryptionKey = pulumi.secret(encryptionKey.base64);

        this.registerOutputs({
            bootstrapToken: this.bootstrapToken,
            certificateKey: this.certificateKey,
            keepalivedPassword: this.keepalivedPassword,
            encryptionKey: this.encryptionKey,
        });
    }
}
