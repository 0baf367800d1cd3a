import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { backOff } from 'exponential-backoff';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Readable } from 'node:stream';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import {
  ArchiveManifest as Manifest,
  ArchiveMetadata,
  fromS3Metadata,
  parseManifest,
  runMetadata,
  toS3Metadata,
} from './archive-metadata';
import { S3 } from './s3.client';

export const CSV_CONTENT_TYPE = 'text/csv';
/** In the metadata of a multi-part archive object: the key of the manifest that holds its facts. */
const MANIFEST_FIELD = 'manifest-key';
const MANIFEST_TIMEOUT_MS = 10_000;

/** What a multi-part archive object's metadata says before its facts are known. */
export type ArchivedRunRef = Pick<ArchiveMetadata, 'eventId' | 'report' | 'run'>;

export interface ArchivedObject {
  bucket: string;
  key: string;
  sizeBytes: number;
  eTag?: string;
  versionId?: string;
  metadata: ArchiveMetadata;
}

/**
 * The archive in S3. An object at an archive key is always complete, and the run's facts (checksum, row count,
 * provenance) are kept where the archive alone can re-announce it. They are known only after the last byte, and
 * S3 metadata is fixed when an upload starts, so:
 * - a body that fits in one part is held, then put at its archive key with every fact in its metadata;
 * - a bigger one is a multipart upload straight to its archive key (nothing appears there until it completes),
 *   whose metadata names the run and points at a manifest: a small JSON object under S3_MANIFEST_PREFIX, written
 *   once the upload is complete, that holds the facts and the archive object's ETag and size as HEAD reports them.
 *   Until a manifest whose ETag, size and event id match the object exists, the run does not count as archived; a
 *   retry uploads it again. A server-side copy would avoid the manifest but moves every byte a second time, which
 *   for big files cost a third of the archiving time.
 */
@Injectable()
export class ArchiveStore implements OnApplicationShutdown {
  constructor(
    @Inject(S3) private readonly s3: S3Client,
    private readonly config: AppConfig,
    @InjectPinoLogger(ArchiveStore.name) private readonly logger: PinoLogger,
  ) {}

  get bucket(): string {
    return this.config.s3.bucket;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /** Where the manifest of a multi-part archive object lives: its archive path under the manifest prefix. */
  private manifestKeyOf(key: string): string {
    const archivePrefix = `${this.config.s3.prefix}/`;
    const path = key.startsWith(archivePrefix) ? key.slice(archivePrefix.length) : key;
    return `${this.config.s3.manifestPrefix}/${path}.json`;
  }

  /** The archived run at this key; undefined when there is none, only a foreign object, or no matching manifest. */
  async find(key: string): Promise<ArchivedObject | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const archived = (metadata: ArchiveMetadata): ArchivedObject => ({
        bucket: this.bucket,
        key,
        sizeBytes: head.ContentLength ?? 0,
        eTag: head.ETag,
        versionId: head.VersionId,
        metadata,
      });
      const inline = fromS3Metadata(head.Metadata);
      if (inline !== undefined) return archived(inline);
      if (head.Metadata?.[MANIFEST_FIELD] === undefined) return undefined;

      const manifest = await this.readManifest(this.manifestKeyFor(key, head.Metadata));
      if (manifest === undefined) return undefined;
      // A manifest of an earlier upload to the same key, or of another run, does not describe these bytes.
      const describes =
        sameETag(manifest.eTag, head.ETag) &&
        manifest.sizeBytes === head.ContentLength &&
        manifest.metadata.eventId === decodeURIComponent(head.Metadata['event-id'] ?? '');
      if (!describes) {
        this.logger.warn({ key }, 'An archive object does not match its manifest; the run will be archived again');
        return undefined;
      }
      return archived(manifest.metadata);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /**
   * Archives a body at `key`. `metadataOf` is asked once the body has ended, when the facts it reports are final.
   * Rejects, leaving nothing at the key and no parts behind, if the body errors or the signal aborts.
   */
  async write(
    body: Readable,
    key: string,
    run: ArchivedRunRef,
    metadataOf: () => ArchiveMetadata,
    signal: AbortSignal,
  ): Promise<ArchivedObject> {
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const start = await firstPart(chunks, this.config.s3.partSizeBytes);
    if (start.ended) return this.put(Buffer.concat(start.chunks), key, metadataOf(), signal);

    await this.upload(Readable.from(resume(start.chunks, chunks)), key, run, signal);
    // The manifest records what HEAD reports, since that is what find() compares it with later.
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    const metadata = metadataOf();
    const manifest: Manifest = { version: 1, eTag: head.ETag ?? '', sizeBytes: head.ContentLength ?? 0, metadata };
    await this.writeManifest(key, manifest);

    return {
      bucket: this.bucket,
      key,
      sizeBytes: manifest.sizeBytes,
      eTag: head.ETag,
      versionId: head.VersionId,
      metadata,
    };
  }

  /**
   * Aborts the multipart uploads to this key that an earlier attempt left open: a process killed mid-transfer
   * could not abort its own. Returns how many there were.
   */
  async abortEarlierUploads(key: string): Promise<number> {
    const listed = await this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: key }));
    const open = (listed.Uploads ?? []).filter((upload) => upload.Key === key);
    await Promise.all(
      open.map((upload) =>
        this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: upload.UploadId })),
      ),
    );
    return open.length;
  }

  /** Every key under the archive prefix, page by page. */
  async *listArchive(): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.config.s3.prefix}/`,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      token = page.NextContinuationToken;
    } while (token !== undefined);
  }

  /** The first bytes of an archived object, for re-reading its header row. */
  async readStart(key: string, bytes: number): Promise<Buffer> {
    const object = await this.s3.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${bytes - 1}` }),
    );
    if (object.Body === undefined) return Buffer.alloc(0);

    return Buffer.from(await object.Body.transformToByteArray());
  }

  private async put(
    bytes: Buffer,
    key: string,
    metadata: ArchiveMetadata,
    signal: AbortSignal,
  ): Promise<ArchivedObject> {
    const put = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentLength: bytes.length,
        ContentType: CSV_CONTENT_TYPE,
        Metadata: toS3Metadata(metadata),
      }),
      { abortSignal: signal },
    );

    return { bucket: this.bucket, key, sizeBytes: bytes.length, eTag: put.ETag, versionId: put.VersionId, metadata };
  }

  /** Streams the body to its archive key; rejects, leaving no parts behind, if the body errors or the signal aborts. */
  private async upload(body: Readable, key: string, run: ArchivedRunRef, signal: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: CSV_CONTENT_TYPE,
        Metadata: { ...runMetadata(run), [MANIFEST_FIELD]: encodeURIComponent(this.manifestKeyOf(key)) },
      },
      partSize: this.config.s3.partSizeBytes,
      queueSize: this.config.s3.queueSize,
      leavePartsOnError: false,
    });
    const abort = (): void => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });

    try {
      await upload.done();
    } catch (error) {
      // done() rejects as soon as it is aborted, while lib-storage may still be sending parts: abort what is
      // left at the key ourselves before giving up, so that no attempt leaves parts behind.
      await this.abortEarlierUploads(key).catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  /**
   * Writes a manifest, retried on its own: it is a few hundred bytes after a transfer of up to gigabytes, and a
   * manifest lost to one failed request or to shutdown would send the whole run back to be downloaded again.
   */
  private async writeManifest(key: string, manifest: Manifest): Promise<void> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.manifestKeyOf(key),
      Body: JSON.stringify(manifest),
      ContentType: 'application/json',
    });
    await backOff(() => this.s3.send(command, { abortSignal: AbortSignal.timeout(MANIFEST_TIMEOUT_MS) }), {
      numOfAttempts: 4,
      startingDelay: 200,
      timeMultiple: 3,
    });
  }

  /** The manifest key an archive object names, when it lies under the manifest prefix; else where it belongs. */
  private manifestKeyFor(key: string, metadata: Record<string, string>): string {
    const named = decodeURIComponent(metadata[MANIFEST_FIELD] ?? '');
    return named.startsWith(`${this.config.s3.manifestPrefix}/`) ? named : this.manifestKeyOf(key);
  }

  private async readManifest(manifestKey: string): Promise<Manifest | undefined> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: manifestKey }));
      const text = (await object.Body?.transformToString('utf-8')) ?? '';
      return parseManifest(text);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async checkBucket(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  onApplicationShutdown(): void {
    this.s3.destroy();
  }
}

/** Reads chunks until they exceed one part or the body ends, whichever comes first. */
async function firstPart(
  chunks: AsyncIterator<Buffer>,
  partSize: number,
): Promise<{ chunks: Buffer[]; ended: boolean }> {
  const held: Buffer[] = [];
  let bytes = 0;
  while (bytes <= partSize) {
    const next = await chunks.next();
    if (next.done === true) return { chunks: held, ended: true };
    held.push(next.value);
    bytes += next.value.length;
  }

  return { chunks: held, ended: false };
}

/** The held chunks, then the rest of the body; ending early (the upload failed) ends the body too. */
async function* resume(held: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    yield* held;
    for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

/** ETags as stores print them: quoted or not, sometimes weak. */
function sameETag(a: string | undefined, b: string | undefined): boolean {
  const bare = (tag: string | undefined): string => (tag ?? '').replace(/^W\//, '').replace(/"/g, '');
  return bare(a) !== '' && bare(a) === bare(b);
}

function isNotFound(error: unknown): boolean {
  if (error instanceof NotFound) return true;
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}
