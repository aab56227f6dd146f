// The program: read and validate the stack config, build the lab, export what a user needs.
import { loadLabConfig } from "./components/config";
import { KubernetesLab } from "./components/lab";

const lab = new KubernetesLab("lab", { config: loadLabConfig() });

/** Every node: name, role and address. */
export const nodes = lab.nodes;
/** The Kubernetes API through the HA virtual IP. */
export const apiEndpoint = lab.apiEndpoint;
/** Admin kubeconfig (secret): pulumi stack output kubeconfig --show-secrets > ~/.kube/lab.yaml */
export const kubeconfig = lab.kubeconfig;
/** When node 0's kubeadm certificates and the admin kubeconfig expire (one year after init): renew before (README "Certificates"). */
export const certificatesExpire = lab.certificatesExpire;
/** The ingress controller's fixed LoadBalancer address, when ingressAddress is set. */
export const ingressAddress = lab.addons.ingressAddress;
/** The default StorageClass (NFS), when nfs is on. */
export const storageClass = lab.addons.storageClass;
/** Grafana's generated admin password (secret), when monitoring is on: pulumi stack output grafanaAdminPassword --show-secrets */
export const grafanaAdminPassword = lab.addons.grafanaAdminPassword;
