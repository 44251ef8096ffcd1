/**
 * The query parameters the object-store URLs share (sizes, whole numbers, booleans, an endpoint), parsed with one
 * precise usage error each. Each store's URL module names its grammar and where its credentials come from.
 */
import { ArchiverError } from '../errors.ts';

const MiB = 1024 * 1024;

/** Parameter names that look like credentials: never accepted in a store URL (they would end up in logs). */
const CREDENTIAL_PARAM = /key|secret|token|password|credential|session|signature|auth/i;

export interface StoreUrlParams {
  usage: (url: string, problem: string, hint?: string) => ArchiverError;
  parseSize: (url: string, name: string, text: string) => number;
  parseWhole: (url: string, name: string, text: string) => number;
  parseBool: (url: string, name: string, text: string) => boolean;
  parseEndpoint: (url: string, text: string) => string;
  /** The query parameters, each once, each known (a credential-looking name refused as such), none empty. */
  params: <P extends string>(url: string, search: URLSearchParams, known: readonly P[]) => Array<[P, string]>;
}

/** `credentialsFrom`: where the store's credentials come from, said when a URL tries to carry them. */
export function storeUrlParams(grammar: string, credentialsFrom: string, endpointHint?: string): StoreUrlParams {
  const usage = (url: string, problem: string, hint = `use ${grammar}`): ArchiverError => new ArchiverError('EUSAGE', `--store ${url}: ${problem}`, { hint });
  return {
    usage,
    params: <P extends string>(url: string, search: URLSearchParams, known: readonly P[]): Array<[P, string]> => {
      const seen = new Set<string>();
      const out: Array<[P, string]> = [];
      for (const [name, value] of search) {
        if (seen.has(name)) throw usage(url, `parameter ${name} is given twice`);
        seen.add(name);
        if (!(known as readonly string[]).includes(name)) {
          if (CREDENTIAL_PARAM.test(name)) throw usage(url, `parameter ${name}: credentials are not accepted in the store URL`, `they come from ${credentialsFrom}`);
          throw usage(url, `unknown parameter ${name}`, `known parameters: ${known.join(', ')}`);
        }
        if (value === '') throw usage(url, `parameter ${name} has no value`);
        out.push([name as P, value]);
      }
      return out;
    },
    parseSize: (url, name, text) => {
      const m = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(text);
      if (m === null) throw usage(url, `${name}=${text} is not a size`, 'write bytes or a number with KiB, MiB or GiB, e.g. 8MiB');
      const unit = m[2] === 'GiB' ? 1024 * MiB : m[2] === 'MiB' ? MiB : m[2] === 'KiB' ? 1024 : 1;
      return Number(m[1]) * unit;
    },
    parseWhole: (url, name, text) => {
      if (!/^\d+$/.test(text)) throw usage(url, `${name}=${text} is not a whole number`);
      return Number(text);
    },
    parseBool: (url, name, text) => {
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw usage(url, `${name}=${text} must be true or false`);
    },
    parseEndpoint: (url, text) => {
      let endpoint: URL;
      try {
        endpoint = new URL(text);
      } catch {
        throw usage(url, `endpoint=${text} is not a URL`, 'use endpoint=https://HOST[:PORT] (or http:// for a server on a trusted network)');
      }
      if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw usage(url, `endpoint=${text} must be http:// or https://`);
      if (endpoint.username !== '' || endpoint.password !== '') throw usage(url, 'the endpoint must not carry credentials', `credentials come from ${credentialsFrom}`);
      if (endpoint.pathname !== '/' || endpoint.search !== '' || endpoint.hash !== '') throw usage(url, `endpoint=${text} must be only a scheme, host and port`, endpointHint);
      return endpoint.origin;
    },
  };
}
