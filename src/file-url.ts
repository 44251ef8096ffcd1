/**
 * The local path of a `file:` URL a person gave (`--store`, `--key`), read strictly. WHATWG URL parsing is
 * lenient in ways that move data: `file:rel` becomes `/rel` at the filesystem root, and `file://tmp/x` names a
 * host `tmp` (Node then throws a TypeError). Accepted: `file:///abs/path`, `file://localhost/abs/path` and
 * `file:/abs/path`; everything else is a usage error that shows the URL the person probably meant.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiverError } from './errors.ts';

function refuse(option: string, url: string, problem: string, hint: string): ArchiverError {
  return new ArchiverError('EUSAGE', `${option} ${JSON.stringify(url)}: ${problem}`, { hint });
}

export function localFilePath(url: string, option: string): string {
  if (!/^file:/i.test(url)) throw refuse(option, url, 'is not a file: URL', 'write file:///absolute/path');
  const rest = url.slice('file:'.length);
  let absolute: string;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const host = rest.slice(2, slash < 0 ? undefined : slash);
    absolute = slash < 0 ? '' : rest.slice(slash);
    if (host !== '' && host.toLowerCase() !== 'localhost') {
      throw refuse(option, url, `names the host ${JSON.stringify(host)}; only local files are supported`,
        `three slashes for an absolute path: file:///${host}${absolute}`);
    }
  } else if (rest.startsWith('/')) {
    absolute = rest;
  } else {
    throw refuse(option, url, 'is a relative file URL (it would be read from the filesystem root)',
      `write the absolute path: file://${path.resolve(decodeSafely(rest))}`);
  }
  if (absolute === '' || absolute === '/') throw refuse(option, url, 'names no file or directory', 'write file:///absolute/path');
  if (/[?#]/.test(absolute)) throw refuse(option, url, 'has a ?query or #fragment', 'percent-encode ? as %3F and # as %23 in file names');
  try {
    return fileURLToPath(`file://${absolute}`);
  } catch (err) {
    // An encoded slash (%2F) or NUL: a path Node will not build.
    throw new ArchiverError('EUSAGE', `${option} ${JSON.stringify(url)}: ${(err as Error).message}`, { cause: err, hint: 'write file:///absolute/path' });
  }
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
