/**
 * `vault://<transit-key>?addr=https://vault:8200[&mount=transit]` plus exactly one way to authenticate:
 * `&tokenFile=/path` (a token in a mounted file), or `&role=<role>&jwtFile=/path[&authMount=kubernetes]`
 * (Vault's Kubernetes auth method with a projected service-account token). Optional `&namespace=` and
 * `&caFile=/path` (PEM bundle for a private CA). Tokens never appear in the URL or the environment.
 */
import { parseProviderUrl, usage } from './key-url.ts';

export type VaultAuthOptions =
  | { method: 'token'; tokenFile: string }
  | { method: 'kubernetes'; role: string; jwtFile: string; authMount: string };

export interface VaultKeyOptions {
  /** Transit key name. */
  key: string;
  /** Vault (or OpenBao) origin, e.g. https://vault.vault.svc:8200. */
  addr: string;
  /** Mount path of the Transit engine. */
  mount: string;
  auth: VaultAuthOptions;
  namespace?: string;
  caFile?: string;
}

const EXAMPLE = 'vault://binlog-archiver?addr=https://vault:8200&role=binlog-archiver&jwtFile=/var/run/secrets/tokens/vault';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const MOUNT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
const PARAMS = ['addr', 'mount', 'tokenFile', 'role', 'jwtFile', 'authMount', 'namespace', 'caFile'];

export function parseVaultUrl(url: string): VaultKeyOptions {
  const { key, params } = parseProviderUrl(url, 'vault', PARAMS, EXAMPLE);
  if (key === '') throw usage(url, 'missing Transit key name: put it after vault://', `e.g. ${EXAMPLE}`);
  if (key.includes('/')) throw usage(url, `Transit key name ${JSON.stringify(key)} contains /`, 'name the key after vault:// and its engine with mount=, e.g. vault://mykey?mount=transit&...');
  if (!NAME.test(key)) throw usage(url, `Transit key name ${JSON.stringify(key)} has characters Transit key names do not use`, 'letters, digits, _ . -');
  const addr = params.origin('addr');
  if (addr === undefined) throw usage(url, 'missing addr=', 'the Vault address, e.g. addr=https://vault.vault.svc:8200');
  const mount = (params.optional('mount') ?? 'transit').replace(/^\/+|\/+$/g, '');
  if (!MOUNT.test(mount)) throw usage(url, `mount=${mount} is not a mount path`, 'e.g. mount=transit');
  const tokenFile = params.file('tokenFile');
  const role = params.optional('role');
  const jwtFile = params.file('jwtFile');
  const authMount = params.optional('authMount');
  let auth: VaultAuthOptions;
  if (tokenFile !== undefined) {
    if (role !== undefined || jwtFile !== undefined || authMount !== undefined) {
      throw usage(url, 'tokenFile= and the Kubernetes auth method (role=, jwtFile=, authMount=) are mutually exclusive', 'choose one way to authenticate');
    }
    auth = { method: 'token', tokenFile };
  } else if (role !== undefined) {
    if (jwtFile === undefined) throw usage(url, `role=${role} needs jwtFile=`, 'the projected service-account token, e.g. jwtFile=/var/run/secrets/kubernetes.io/serviceaccount/token');
    const mountPath = (authMount ?? 'kubernetes').replace(/^\/+|\/+$/g, '');
    if (!MOUNT.test(mountPath)) throw usage(url, `authMount=${mountPath} is not a mount path`, 'e.g. authMount=kubernetes');
    auth = { method: 'kubernetes', role, jwtFile, authMount: mountPath };
  } else if (jwtFile !== undefined || authMount !== undefined) {
    throw usage(url, `${jwtFile !== undefined ? 'jwtFile=' : 'authMount='} needs role=`, 'the Vault role bound to the service account, e.g. role=binlog-archiver');
  } else {
    throw usage(url, 'no way to authenticate: give tokenFile=/path, or role= with jwtFile=/path (Kubernetes auth method)', `e.g. ${EXAMPLE}`);
  }
  const namespace = params.optional('namespace');
  const caFile = params.file('caFile');
  return { key, addr, mount, auth, ...(namespace === undefined ? {} : { namespace }), ...(caFile === undefined ? {} : { caFile }) };
}
