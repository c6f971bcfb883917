export { createDevPki, DEV_PKI_NAMES, type DevPki, type DevPkiOptions } from './dev-pki';
export { CLIENT_TLS_MIN_VERSION, ServerCertificate, type CertificateFiles, type CertificateLogger, type ServerCertificateOptions } from './server-certificate';
export { readPemFiles, watchPemFiles, TlsFilesError, type PemMaterial, type PemPaths } from './pem-files';
