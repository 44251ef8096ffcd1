/**
 * `awskms://<key-id | alias/name | key or alias ARN>?region=<region>[&endpoint=https://host:port]`.
 * The region may be left out when the key is an ARN (it names one). Credentials never appear here: the
 * client takes them from the SDK's default chain.
 */
import { parseProviderUrl, usage } from './key-url.ts';

export interface AwsKmsKeyOptions {
  /** As written in the URL: key id, `alias/...`, or a key or alias ARN. */
  keyId: string;
  region: string;
  /** Only for KMS-compatible endpoints (VPC endpoints, test servers); default: the region's public endpoint. */
  endpoint?: string;
}

const EXAMPLE = 'awskms://alias/binlog-archiver?region=eu-west-1';
const ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;
const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

export function parseAwsKmsUrl(url: string): AwsKmsKeyOptions {
  const { key, params } = parseProviderUrl(url, 'awskms', ['region', 'endpoint'], EXAMPLE);
  if (key === '') throw usage(url, 'missing key id: put the KMS key id, alias or ARN after awskms://', `e.g. ${EXAMPLE}`);
  if (key.startsWith('/')) throw usage(url, `key id ${JSON.stringify(key)} starts with /`, `write two slashes, not three: ${EXAMPLE}`);
  const arn = ARN.exec(key);
  if (arn === null && !KEY_ID.test(key) && !ALIAS.test(key)) {
    throw usage(url, `${JSON.stringify(key)} is not a KMS key id, alias or ARN`,
      'use a key id (1234abcd-12ab-34cd-56ef-1234567890ab, mrk-...), an alias (alias/name) or an ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');
  }
  const arnRegion = arn?.[1];
  const given = params.optional('region');
  if (given !== undefined && !REGION.test(given)) throw usage(url, `region=${given} is not an AWS region name`, 'e.g. region=eu-west-1');
  if (given !== undefined && arnRegion !== undefined && given !== arnRegion) {
    throw usage(url, `region=${given} contradicts the key ARN, which is in ${arnRegion}`, 'drop region= or make it match the ARN');
  }
  const region = given ?? arnRegion;
  if (region === undefined) throw usage(url, 'missing region=', `the KMS key's region is needed, e.g. ${EXAMPLE}`);
  const endpoint = params.origin('endpoint');
  return { keyId: key, region, ...(endpoint === undefined ? {} : { endpoint }) };
}
