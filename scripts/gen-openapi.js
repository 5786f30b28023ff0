// Writes schema/openapi.json, the OpenAPI 3.1 document of the HTTP API, from the compiled zod schemas (run after `tsc`).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENAPI_FILE, openApiDocument } from '../dist/src/server/openapi.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, OPENAPI_FILE);
await mkdir(path.dirname(target), { recursive: true });
// Write to a temporary name first, then rename, so a reader never sees half a file.
const tmp = `${target}.${process.pid}.tmp`;
await writeFile(tmp, `${JSON.stringify(openApiDocument(), null, 2)}\n`, 'utf8');
await rename(tmp, target);
console.log(`wrote ${OPENAPI_FILE}`);
