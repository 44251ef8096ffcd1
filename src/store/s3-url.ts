/**
 * `--store s3://BUCKET[/PREFIX][?endpoint=URL&region=R&forcePathStyle=true&...]` to S3 store options, with a
 * precise usage error for each mistake. Credentials are never accepted here: the SDK's default chain
 * (IRSA / web identity, shared config and credentials files, container credentials) provides them.
 */
import { ArchiverError } from '../errors.ts';
import { storeUrlParams } from './url-params.ts';
import { type S3StoreOptions, assertBucketName } from './s3-options.ts';

const GRAMMAR = 's3://BUCKET[/PREFIX][?endpoint=http(s)://HOST[:PORT]&region=REGION&forcePathStyle=true|false&partSize=8MiB&multipartThreshold=100MiB&concurrency=4&maxAttempts=8&socketTimeoutMs=30000&conditionalWrites=true|false&signPayloads=true|false&objectLockMode=GOVERNANCE|COMPLIANCE&objectLockDays=N]';

const PARAMS = [
  'endpoint', 'region', 'forcePathStyle', 'partSize', 'multipartThreshold', 'concurrency', 'maxAttempts', 'socketTimeoutMs',
  'conditionalWrites', 'signPayloads', 'objectLockMode', 'objectLockDays',
] as const;
const { usage, params, parseSize, parseWhole: parseInt10, parseBool, parseEndpoint } = storeUrlParams(GRAMMAR, 'the AWS SDK default chain', 'put the bucket and prefix in the s3:// part, not in the endpoint');

export function parseS3StoreUrl(url: string): S3StoreOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--store ${JSON.stringify(url)} is not a URL`, { cause: err, hint: `use ${GRAMMAR}` });
  }
  // Never echo a secret back: report the URL without its user info.
  const shown = parsed.username !== '' || parsed.password !== '' ? `s3://***@${parsed.host}${parsed.pathname}` : url;
  if (parsed.username !== '' || parsed.password !== '') {
    throw usage(shown, 'credentials are not accepted in the store URL', 'they come from the AWS SDK default chain: IRSA / web identity, shared credentials file, container credentials');
  }
  if (parsed.port !== '') throw usage(url, 'an s3:// URL takes no port', 'give the server as ?endpoint=http(s)://HOST:PORT');
  if (parsed.hash !== '') throw usage(url, 'an s3:// URL takes no #fragment');
  if (parsed.host === '') throw usage(url, 'the URL names no bucket');
  try {
    assertBucketName(parsed.host);
  } catch (err) {
    throw usage(url, (err as Error).message, (err as ArchiverError).hint ?? GRAMMAR);
  }
  // The raw text, not parsed.pathname: URL parsing would silently resolve "a/../b" to "b".
  const afterScheme = url.slice(url.indexOf('//') + 2).split(/[?#]/)[0] ?? '';
  const rawPath = afterScheme.includes('/') ? afterScheme.slice(afterScheme.indexOf('/')) : '';
  const segments = rawPath.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw usage(url, `prefix ${JSON.stringify(rawPath)} is not valid percent-encoding`);
  }
  if (decoded.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
    throw usage(url, `prefix ${JSON.stringify(rawPath)} has an empty, "." or ".." part`);
  }
  const options: S3StoreOptions = { bucket: parsed.host, prefix: decoded.join('/') };
  let lockMode: string | undefined;
  let lockDays: number | undefined;
  for (const [name, value] of params(url, parsed.searchParams, PARAMS)) {
    switch (name) {
      case 'endpoint': options.endpoint = parseEndpoint(url, value); break;
      case 'region':
        if (!/^[a-z0-9-]{1,64}$/.test(value)) throw usage(url, `region=${value} is not a region name`);
        options.region = value;
        break;
      case 'forcePathStyle': options.forcePathStyle = parseBool(url, name, value); break;
      case 'partSize': options.partSize = parseSize(url, name, value); break;
      case 'multipartThreshold': options.multipartThreshold = parseSize(url, name, value); break;
      case 'concurrency': options.concurrency = parseInt10(url, name, value); break;
      case 'maxAttempts': options.retry = { maxAttempts: parseInt10(url, name, value) }; break;
      case 'socketTimeoutMs': options.socketTimeoutMs = parseInt10(url, name, value); break;
      case 'conditionalWrites': options.conditionalWrites = parseBool(url, name, value); break;
      case 'signPayloads': options.signPayloads = parseBool(url, name, value); break;
      case 'objectLockMode': lockMode = value; break;
      case 'objectLockDays': lockDays = parseInt10(url, name, value); break;
    }
  }
  if ((lockMode === undefined) !== (lockDays === undefined)) throw usage(url, 'objectLockMode and objectLockDays go together', 'give both, e.g. objectLockMode=COMPLIANCE&objectLockDays=30');
  if (lockMode !== undefined && lockDays !== undefined) options.objectLock = { mode: lockMode as 'GOVERNANCE' | 'COMPLIANCE', days: lockDays };
  return options;
}
