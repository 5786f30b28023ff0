// Writes schema/airlock.schema.json, schema/workflow.schema.json and the eval suite's schemas from the compiled zod schemas (run after `tsc`).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFiles, jsonSchemaText } from '../dist/src/config/json-schema.js';
import { evalSchemaFiles } from '../dist/src/pilot/eval/json-schema.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

for (const file of [...jsonSchemaFiles(), ...evalSchemaFiles()]) {
  const target = path.join(root, file.path);
  await mkdir(path.dirname(target), { recursive: true });
  // Write to a temporary name first, then rename, so a reader never sees half a file.
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, jsonSchemaText(file), 'utf8');
  await rename(tmp, target);
  console.log(`wrote ${file.path}`);
}
