import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  DeleteObjectCommand,
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
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { keyPart } from './archive-key';
import { ArchiveMetadata, fromS3Metadata, toS3Metadata } from './archive-metadata';
import { S3 } from './s3.client';

export const CSV_CONTENT_TYPE = 'text/csv';

export interface ArchivedObject {
  bucket: string;
  key: string;
  sizeBytes: number;
  eTag?: string;
  versionId?: string;
  metadata: ArchiveMetadata;
}

/**
 * The archive in S3. An object at an archive key is always complete and carries the run's full metadata, whose
 * checksum and row count are known only after the last byte: a body that fits in one part is held and put at its
 * archive key once read; a bigger one is streamed to a staging key and copied to its archive key with the metadata.
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

  /** The archived run at this key, or undefined when there is none (or only a foreign object). */
  async find(key: string): Promise<ArchivedObject | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const metadata = fromS3Metadata(head.Metadata);
      if (metadata === undefined) return undefined;

      return {
        bucket: this.bucket,
        key,
        sizeBytes: head.ContentLength ?? 0,
        eTag: head.ETag,
        versionId: head.VersionId,
        metadata,
      };
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
    eventId: string,
    metadataOf: () => ArchiveMetadata,
    signal: AbortSignal,
  ): Promise<ArchivedObject> {
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const start = await firstPart(chunks, this.config.s3.partSizeBytes);
    if (start.ended) return this.put(Buffer.concat(start.chunks), key, metadataOf(), signal);

    const stagingKey = await this.stage(Readable.from(resume(start.chunks, chunks)), eventId, signal);
    try {
      return await this.commit(stagingKey, key, metadataOf());
    } catch (error) {
      await this.discard(stagingKey);
      throw error;
    }
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

  /** Streams the body to a staging key; rejects, leaving no parts behind, if the body errors or the signal aborts. */
  private async stage(body: Readable, eventId: string, signal: AbortSignal): Promise<string> {
    const key = `${this.stagingPrefixOf(eventId)}${randomUUID()}.csv`;
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: CSV_CONTENT_TYPE,
        Metadata: { 'event-id': encodeURIComponent(eventId) },
      },
      partSize: this.config.s3.partSizeBytes,
      queueSize: this.config.s3.queueSize,
      leavePartsOnError: false,
    });
    const abort = (): void => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });

    try {
      await upload.done();
      return key;
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  /** Moves a staged object to its archive key with the run's metadata, then removes the staging copy. */
  private async commit(stagingKey: string, key: string, metadata: ArchiveMetadata): Promise<ArchivedObject> {
    const copied = await this.s3.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: key,
        CopySource: `${this.bucket}/${encodeURIComponent(stagingKey).replace(/%2F/g, '/')}`,
        MetadataDirective: 'REPLACE',
        ContentType: CSV_CONTENT_TYPE,
        Metadata: toS3Metadata(metadata),
      }),
    );
    await this.discard(stagingKey);
    const archived = await this.find(key);
    if (archived === undefined) throw new Error(`The archive copy at ${key} is missing its metadata`);

    return {
      ...archived,
      eTag: copied.CopyObjectResult?.ETag ?? archived.eTag,
      versionId: copied.VersionId ?? archived.versionId,
    };
  }

  async discard(stagingKey: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: stagingKey }));
    } catch (error) {
      this.logger.warn({ err: error, key: stagingKey }, 'Could not remove a staging object; a lifecycle rule will');
    }
  }

  /**
   * Removes what earlier attempts of this run left under its staging prefix: multipart uploads of a process
   * that was killed mid-transfer (it could not abort them itself) and staged copies it never committed.
   */
  async clearStaging(eventId: string): Promise<number> {
    const prefix = this.stagingPrefixOf(eventId);
    const [uploads, objects] = await Promise.all([
      this.s3.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix })),
      this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix })),
    ]);
    const aborts = (uploads.Uploads ?? []).map((upload) =>
      this.s3.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }),
      ),
    );
    const deletes = (objects.Contents ?? []).map((object) => this.discard(object.Key ?? ''));
    await Promise.all([...aborts, ...deletes]);

    return aborts.length + deletes.length;
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

  async checkBucket(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  private stagingPrefixOf(eventId: string): string {
    return `${this.config.s3.stagingPrefix}/${keyPart(eventId)}/`;
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

/** The held chunks, then the rest of the body. */
async function* resume(held: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* held;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

function isNotFound(error: unknown): boolean {
  if (error instanceof NotFound) return true;
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}
