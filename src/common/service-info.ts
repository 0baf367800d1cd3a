import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ProducerInfo } from '../events/report-event.types';

interface PackageJson {
  name: string;
  version: string;
}

/** Name and version from package.json (two levels up from both src/common and dist/common), and this instance. */
export function serviceInfo(): ProducerInfo {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as PackageJson;

  return { name: pkg.name, version: pkg.version, instance: process.env.POD_NAME ?? `${hostname()}:${process.pid}` };
}
