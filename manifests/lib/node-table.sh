# shellcheck shell=bash
# lib/node-table.sh: the cluster's Nodes as the roll scripts on node 0 read them through the API
# (kubernetes-upgrade-cluster.sh and node-resize.sh, with the caller's KUBECONFIG). Never run on its
# own: renderScript pastes it in place of the including script's include line, like lib/common.sh.
# The including script sets, before it calls these:
#   NODE_TABLE_FIELD       the Node field of column 3, as a jsonpath (e.g. .status.nodeInfo.bootID)
#   NODE_TABLE_ANNOTATION  the annotation of column 4: the one the script marks a node it drained with

# node_table: one line per Node: "<name> <Ready status> <NODE_TABLE_FIELD> <NODE_TABLE_ANNOTATION's value or ->".
node_table() {
    kubectl get nodes -o jsonpath="{range .items[*]}{.metadata.name}{\" \"}{.status.conditions[?(@.type==\"Ready\")].status}{\" \"}{${NODE_TABLE_FIELD}}{\" \"}{.metadata.annotations.${NODE_TABLE_ANNOTATION}}{\"\\n\"}{end}" |
        awk 'NF >= 3 { print $1, $2, $3, (NF >= 4 ? $4 : "-") }'
}

# node_field NAME COLUMN: column 2 (Ready), 3 (NODE_TABLE_FIELD) or 4 (the annotation) of NAME's line; empty when absent.
node_field() {
    node_table | awk -v name="$1" -v field="$2" '$1 == name { print $field; exit }'
}
