export { createDevPki, DEV_PKI_NAMES, type DevPki, type DevPkiOptions } from './dev-pki';
