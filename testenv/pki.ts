/**
 * Certificates and keys for the API server, made with the real `openssl` at every `up` (never committed):
 * a CA, a serving certificate for 127.0.0.1/localhost, an admin client certificate in `system:masters`,
 * and the service-account signing key pair.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { TestenvError } from './errors.ts';

const run = promisify(execFile);

export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new TestenvError('kube', `openssl ${args[0] ?? ''} failed: ${stderr.trim()}`, { cause: err });
  }
}

async function issue(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
  await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-days', '30', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
}

/** A client certificate signed by the environment's CA (the node's `system:node:<name>` identity). */
export async function issueClientCert(dir: string, name: string, subject: string): Promise<{ cert: string; key: string }> {
  await issue(dir, name, subject, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  for (const f of [`${name}.key`, `${name}.crt`]) fs.chmodSync(path.join(dir, f), 0o600);
  return { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
}

/** `extraIps`: further addresses the serving certificate names (the node IP and the `kubernetes` Service IP). */
export async function createPki(dir: string, extraIps: string[] = []): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  await openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=binlog-archiver-testenv-ca', '-days', '30', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt'], dir);
  await issue(dir, 'serving', '/CN=kube-apiserver',
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost${extraIps.map((ip) => `,IP:${ip}`).join('')},DNS:kubernetes.default.svc\n`);
  await issue(dir, 'admin', '/O=system:masters/CN=binlog-archiver-testenv-admin',
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o600);
  const p = (f: string): string => path.join(dir, f);
  return {
    caCert: p('ca.crt'), caKey: p('ca.key'), servingCert: p('serving.crt'), servingKey: p('serving.key'),
    adminCert: p('admin.crt'), adminKey: p('admin.key'), saPublicKey: p('sa.pub'), saPrivateKey: p('sa.key'),
  };
}
