// A self-signed server certificate made with the openssl CLI, as a user makes one for the
// control plane (a kubernetes.io/tls Secret, GITFLEET_TLS_CERT_FILE): EC P-256, one day,
// usable as its own CA, for the names and IPs given.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Writes tls.crt and tls.key into `dir` for `names` (DNS names, or IPs written `IP:…`). */
export async function selfSignedCertificate(
  dir: string,
  names: string[],
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const config = join(dir, 'openssl.cnf');
  const altNames = names.map((n) => (n.startsWith('IP:') ? n : `DNS:${n}`)).join(', ');
  writeFileSync(
    config,
    `[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = gitfleet-control-plane\n[ext]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, digitalSignature, keyCertSign\nextendedKeyUsage = serverAuth\nsubjectAltName = ${altNames}\n`,
  );
  await run('openssl', [
    'req',
    '-x509',
    '-config',
    config,
    '-extensions',
    'ext',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}
