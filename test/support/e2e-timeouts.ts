// The e2e tier waits on a real broker, S3 server and downloads; a per-project testTimeout is not honoured by jest 30.
jest.setTimeout(120_000);
