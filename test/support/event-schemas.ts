import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import failedSchema from '../../docs/schemas/report-failed.v1.json';
import readySchema from '../../docs/schemas/report-ready.v1.json';

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const validators: Record<'ready' | 'failed', ValidateFunction> = {
  ready: ajv.compile(readySchema),
  failed: ajv.compile(failedSchema),
};

/** The schema violations of an event's data, as readable lines; empty when the data conforms. */
export function schemaErrors(kind: 'ready' | 'failed', data: unknown): string[] {
  const validate = validators[kind];
  if (validate(data)) return [];

  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
}
