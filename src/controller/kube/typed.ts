/**
 * Typed access to one kind of resource: get, list, create, patch, updateStatus and delete, each answer checked by
 * the kind's parser before the caller sees it (no `body as T` at call sites, no path strings built there). A get
 * of something absent is `undefined`; every other failure is the client's KubeApiError, or EFORMAT from the parser.
 */
import { PATCH, type KubeClient, isNotFound } from './client.ts';
import { type KubeObject, type ListResult, type ResourceType, collectionPath, objectPath } from './resources.ts';

/** Checks one object as the API server returned it; throws when it is not what T says. */
export type Parser<T> = (value: unknown) => T;

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
}

export class Resource<T extends KubeObject> {
  readonly type: ResourceType;
  readonly parse: Parser<T>;
  readonly #client: KubeClient;

  constructor(client: KubeClient, type: ResourceType, parse: Parser<T>) {
    this.#client = client;
    this.type = type;
    this.parse = parse;
  }

  async get(namespace: string, name: string): Promise<T | undefined> {
    try {
      return this.parse(await this.#client.request<unknown>('GET', objectPath(this.type, namespace, name)));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object of a namespace (or of all, with undefined), following continue tokens. */
  async list(namespace: string | undefined, labelSelector?: string, fieldSelector?: string): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const page = await this.#client.request<ListResult<unknown>>('GET', collectionPath(this.type, namespace), { query: { limit: 500, continue: cont, labelSelector, fieldSelector } });
      out.push(...(Array.isArray(page.items) ? page.items : []).map(this.parse));
      cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
    } while (cont !== undefined);
    return out;
  }

  async create(obj: T | Record<string, unknown>, namespace: string): Promise<T> {
    return this.parse(await this.#client.request<unknown>('POST', collectionPath(this.type, namespace), { body: obj }));
  }

  /** A merge patch (or the given content type); undefined when the object is gone. */
  async patch(namespace: string, name: string, body: unknown, contentType: string = PATCH.merge): Promise<T | undefined> {
    try {
      return this.parse(await this.#client.request<unknown>('PATCH', objectPath(this.type, namespace, name), { body, contentType }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** PUT of the status subresource: conditional on obj.metadata.resourceVersion (a stale one is a Conflict). */
  async updateStatus(obj: T): Promise<T> {
    const { namespace = '', name = '' } = obj.metadata ?? {};
    return this.parse(await this.#client.request<unknown>('PUT', objectPath(this.type, namespace, name, 'status'), { body: obj }));
  }

  /** Deletes the object; false when it was already gone. */
  async delete(namespace: string, name: string, options: DeleteOptions = {}): Promise<boolean> {
    try {
      const propagationPolicy = options.propagationPolicy;
      await this.#client.request('DELETE', objectPath(this.type, namespace, name), propagationPolicy === undefined ? {} : { query: { propagationPolicy }, body: { propagationPolicy } });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
