/** What every server's start function gets, and the shape of `.testenv/endpoints.json`. */
import type { Started } from './proc.ts';
import type { Tools } from './tools.ts';

export interface UpContext {
  /** The state directory (default <repo>/.testenv). */
  dir: string;
  tools: Partial<Tools>;
  /** `up --node`: the API server is set up for a real node (Node authorization, advertised at the node IP). */
  node?: boolean;
  /** Persists a started process at once, so a failing `up` or a later `down` can stop it by pid. */
  record(proc: Started): void;
}

export interface Endpoints {
  kubeconfig: string;
  /** A non-admin identity (a service account with no RBAC bindings) for RBAC tests. */
  kubeconfigUser: string;
  kube: { server: string; external: boolean; version: string; nodes?: string[]; podEndpoint?: string };
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: true; bucket: string; podEndpoint?: string };
  kms: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; keyId: string; keyAlias: string; podEndpoint?: string };
  vault: { addr: string; tokenFile: string; transitKey: string; derivedTransitKey: string; mount: string; podEndpoint?: string };
  mysql: {
    host: string;
    port: number;
    user: string;
    passwordFile: string;
    binlogDir: string;
    socket: string;
    flavor: 'mariadb';
    version: string;
    binlogBasename: string;
    podEndpoint?: string;
  };
  gcs: { endpoint: string; bucket: string; projectId: string; podEndpoint?: string };
  gcpkms: { endpoint: string; keyName: string; disabledKeyName: string; podEndpoint?: string };
  /** With the node: the project image's reference on the node (what Jobs run). */
  image?: string;
  /** With the node: the MariaDB server image's reference (MySQL Pods: testenv/node/mariadb-pod.ts). */
  mariadbImage?: string;
  /** Without the node: why (`up --no-node`, TESTENV_NODE=0, no kube server, an existing cluster); the node tests' skip reason. */
  noNode?: string;
}
