/**
 * Archive object formats v1 and v2 (docs/FORMAT.md): encoder, decoder, openssl compatibility mode, worker pool.
 */
export { encodeObject, type EncodeOptions, type EncodeResult, type EncodedObject } from './encoder.ts';
export { readHeader, decodeObject, openAndDecode, holdDecodeBuffers, type OpenedObject, type DecodeOptions, type DecodeResult, type DecodedObject } from './decoder.ts';
export { type ArchiveHeader, type KeyReference } from './header.ts';
export { type ObjectIdentity, encodeIdentity, identityEquals, describeIdentity } from './identity.ts';
export { SegmentPool, sharedPool, sizeSharedPool, type PoolOptions } from './pool.ts';
export { type ByteSource } from './byte-reader.ts';
export { type HashPlacement } from './plaintext-hash.ts';
export { type PlaintextSource } from './segmenter.ts';
export { type StreamWithResult } from './result-stream.ts';
export {
  encodeOpensslObject,
  decodeOpensslObject,
  OPENSSL_ITERATIONS,
  type OpensslEncodeOptions,
  type OpensslEncodeResult,
  type OpensslDecodeOptions,
  type OpensslDecodeResult,
} from './openssl-compat.ts';
export { readOpensslPassFile, checkOpensslPassphrase } from './openssl-pass.ts';
export { parseSidecar, serializeSidecar, type OpensslSidecar, SIDECAR_FORMAT } from './sidecar.ts';
export { FORMAT_VERSION, READABLE_FORMAT_VERSIONS, MAGIC, DEFAULT_SEGMENT_SIZE, DEFAULT_ZSTD_LEVEL } from './constants.ts';
