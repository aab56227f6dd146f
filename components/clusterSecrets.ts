import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/**
 * The cluster's generated secrets, created once and kept in state (encrypted): the keepalived
 * VRRP password and the key that encrypts Secrets in etcd. Generated, not configured, so no human
 * ever has to handle them. The join credentials are not here (issue 15): each join's token and
 * certificate key are minted on node 0 for that join (manifests/join-credentials-mint.sh) and
 * revoked after it.
 */
export class ClusterSecrets extends pulumi.ComponentResource {
    /** keepalived `auth_pass`: 8 characters, the most VRRP's PASS scheme uses (secret). */
    public readonly keepalivedPassword: pulumi.Output<string>;
    /** Issue 15: 32 random bytes, base64, for the apiserver's secretbox encryption at rest (secret). */
    public readonly encryptionKey: pulumi.Output<string>;

    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("lab:index:ClusterSecrets", name, {}, opts);
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
            keepalivedPassword: this.keepalivedPassword,
            encryptionKey: this.encryptionKey,
        });
    }
}
