// Marker only: see package.json and providers/vsphere.ts.
module.exports = {};
