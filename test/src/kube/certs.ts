// Per-cluster PKI made with the openssl CLI, as a cluster installer would: a CA, the
// apiserver's serving certificate, an admin client certificate (O=system:masters) and the
// service-account signing key pair. ECDSA P-256 keys, because generating them is instant
// (RSA keys cost a noticeable part of cluster startup) and every Kubernetes component and
// client accepts them.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ClusterPki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** Private key that signs service-account tokens (apiserver and controller-manager). */
  serviceAccountKey: string;
  /** Its public key, with which the apiserver verifies the tokens. */
  serviceAccountPublicKey: string;
}

/** The names a client may use for the apiserver: loopback, and the in-cluster service. */
const servingSans = [
  'IP:127.0.0.1',
  'IP:10.96.0.1',
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

// Our own config file, so the result does not depend on the system's openssl.cnf.
const opensslConfig = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[serving]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = ${servingSans.join(', ')}
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

/** A positive random serial, so certificates of different runs never share one. */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

/** Writes the cluster's keys and certificates into `dir`. */
export async function createClusterPki(dir: string, clusterName: string): Promise<ClusterPki> {
  const file = (name: string) => join(dir, name);
  const pki: ClusterPki = {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    servingCert: file('apiserver.crt'),
    servingKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    serviceAccountKey: file('sa.key'),
    serviceAccountPublicKey: file('sa.pub'),
  };
  const config = file('openssl.cnf');
  await writeFile(config, opensslConfig);

  const signed = async (name: string, subject: string, extensions: string) => {
    const csr = file(`${name}.csr`);
    await openssl([
      'req',
      '-new',
      '-config',
      config,
      ...newKey,
      '-keyout',
      file(`${name}.key`),
      '-out',
      csr,
      '-subj',
      subject,
    ]);
    await openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      pki.caCert,
      '-CAkey',
      pki.caKey,
      '-set_serial',
      serial(),
      '-days',
      '3650',
      '-extfile',
      config,
      '-extensions',
      extensions,
      '-out',
      file(`${name}.crt`),
    ]);
  };

  await Promise.all([
    (async () => {
      await openssl([
        'req',
        '-x509',
        '-new',
        '-config',
        config,
        '-extensions',
        'ca',
        ...newKey,
        '-keyout',
        pki.caKey,
        '-out',
        pki.caCert,
        '-days',
        '3650',
        '-subj',
        `/CN=gitfleet-${clusterName}-ca`,
      ]);
      await Promise.all([
        signed('apiserver', '/CN=kube-apiserver', 'serving'),
        signed('admin', '/O=system:masters/CN=gitfleet-admin', 'client'),
      ]);
    })(),
    (async () => {
      await openssl([
        'genpkey',
        '-algorithm',
        'EC',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-out',
        pki.serviceAccountKey,
      ]);
      await openssl(['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPublicKey]);
    })(),
  ]);
  return pki;
}

/**
 * Writes a kubeconfig for the admin user with the certificates embedded, so the file keeps
 * working when copied or read by a client that resolves paths differently.
 */
export async function writeAdminKubeconfig(
  path: string,
  clusterName: string,
  server: string,
  pki: ClusterPki,
): Promise<void> {
  const b64 = async (file: string) => (await readFile(file)).toString('base64');
  const [ca, cert, key] = await Promise.all([b64(pki.caCert), b64(pki.adminCert), b64(pki.adminKey)]);
  await writeFile(
    path,
    `apiVersion: v1
kind: Config
clusters:
- name: ${clusterName}
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: ${clusterName}-admin
  user:
    client-certificate-data: ${cert}
    client-key-data: ${key}
contexts:
- name: ${clusterName}
  context:
    cluster: ${clusterName}
    user: ${clusterName}-admin
    namespace: default
current-context: ${clusterName}
`,
    { mode: 0o600 },
  );
}
