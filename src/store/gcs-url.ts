/**
 * `--store gs://BUCKET[/PREFIX][?endpoint=URL&chunkSize=8MiB&...]` to GCS store options, with a precise usage
 * error for each mistake. Credentials are never accepted here: the Google auth library's default chain
 * (Workload Identity, GOOGLE_APPLICATION_CREDENTIALS, the metadata server) provides them.
 */
import { ArchiverError } from '../errors.ts';
import { storeUrlParams } from './url-params.ts';
import { type GcsStoreOptions, assertGcsBucketName } from './gcs-options.ts';

const GRAMMAR = 'gs://BUCKET[/PREFIX][?endpoint=http(s)://HOST[:PORT]&chunkSize=8MiB&resumableThreshold=16MiB&maxAttempts=8&requestTimeoutMs=60000&retentionMode=Locked|Unlocked&retentionDays=N&eventBasedHold=true|false]';
const PARAMS = ['endpoint', 'chunkSize', 'resumableThreshold', 'maxAttempts', 'requestTimeoutMs', 'retentionMode', 'retentionDays', 'eventBasedHold'] as const;
const { usage, params, parseSize, parseWhole, parseEndpoint } = storeUrlParams(GRAMMAR, 'the Google auth library\'s default chain');

function prefixOf(url: string): string {
  // The raw text, not URL.pathname: URL parsing would silently resolve "a/../b" to "b".
  const afterScheme = url.slice(url.indexOf('//') + 2).split(/[?#]/)[0] ?? '';
  const rawPath = afterScheme.includes('/') ? afterScheme.slice(afterScheme.indexOf('/')) : '';
  const segments = rawPath.split('/').filter((s, i, all) => !(s === '' && (i === 0 || i === all.length - 1)));
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw usage(url, `prefix ${JSON.stringify(rawPath)} is not valid percent-encoding`);
  }
  if (decoded.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) throw usage(url, `prefix ${JSON.stringify(rawPath)} has an empty, "." or ".." part`);
  return decoded.join('/');
}

export function parseGcsStoreUrl(url: string): GcsStoreOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new ArchiverError('EUSAGE', `--store ${JSON.stringify(url)} is not a URL`, { cause: err, hint: `use ${GRAMMAR}` });
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw usage(`gs://***@${parsed.host}${parsed.pathname}`, 'credentials are not accepted in the store URL',
      'they come from the Google auth library\'s default chain: Workload Identity, GOOGLE_APPLICATION_CREDENTIALS (a mounted file)');
  }
  if (parsed.port !== '') throw usage(url, 'a gs:// URL takes no port', 'give the server as ?endpoint=http(s)://HOST:PORT');
  if (parsed.hash !== '') throw usage(url, 'a gs:// URL takes no #fragment');
  try {
    assertGcsBucketName(parsed.host);
  } catch (err) {
    throw usage(url, (err as Error).message, (err as ArchiverError).hint ?? GRAMMAR);
  }
  const options: GcsStoreOptions = { bucket: parsed.host, prefix: prefixOf(url) };
  let mode: string | undefined;
  let days: number | undefined;
  for (const [name, value] of params(url, parsed.searchParams, PARAMS)) {
    switch (name) {
      case 'endpoint': options.endpoint = parseEndpoint(url, value); break;
      case 'chunkSize': options.chunkSize = parseSize(url, name, value); break;
      case 'resumableThreshold': options.resumableThreshold = parseSize(url, name, value); break;
      case 'maxAttempts': options.retry = { maxAttempts: parseWhole(url, name, value) }; break;
      case 'requestTimeoutMs': options.requestTimeoutMs = parseWhole(url, name, value); break;
      case 'retentionMode': mode = value; break;
      case 'retentionDays': days = parseWhole(url, name, value); break;
      case 'eventBasedHold':
        if (value !== 'true' && value !== 'false') throw usage(url, `eventBasedHold=${value} must be true or false`);
        options.eventBasedHold = value === 'true';
        break;
    }
  }
  if ((mode === undefined) !== (days === undefined)) throw usage(url, 'retentionMode and retentionDays go together', 'give both, e.g. retentionMode=Locked&retentionDays=30');
  if (mode !== undefined && days !== undefined) options.retention = { mode: mode as 'Locked' | 'Unlocked', days };
  return options;
}
