// Writes src/api/schema.gen.ts from the API's OpenAPI document, as `flomation openapi` prints
// it from the app factory (no server needed). With --check, writes nothing and fails when the
// checked-in file is not what the document gives, so an API change the editor has not taken
// up fails `make test`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const editor = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(editor, 'src', 'api', 'schema.gen.ts');
// The repository's virtual environment (`make install`), unless FLOMATION_CLI names another.
const command = process.env.FLOMATION_CLI ?? resolve(editor, '..', '.venv', 'bin', 'flomation');

const HEADER = `/**
 * The API's OpenAPI document as TypeScript types, written by \`npm run api:generate\` from
 * \`flomation openapi\`. Do not edit: change the API and regenerate.
 */

`;

function generate() {
  const document = JSON.parse(execFileSync(command, ['openapi'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  // A default in a model makes the field optional to send; answers carry it either way.
  return openapiTS(document, { defaultNonNullable: false }).then((ast) => HEADER + astToString(ast));
}

const text = await generate();
if (!process.argv.includes('--check')) {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
} else {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    const dir = mkdtempSync(join(tmpdir(), 'flomation-api-'));
    const fresh = join(dir, 'schema.gen.ts');
    writeFileSync(fresh, text);
    try {
      execFileSync('diff', ['-u', target, fresh], { stdio: 'inherit' });
    } catch {
      // diff exits 1 when the files differ: that is the expected case here
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    console.error(
      "\nsrc/api/schema.gen.ts does not match the API's OpenAPI document: run `npm run api:generate` in editor/, fix what no longer type-checks, and commit both.",
    );
    process.exit(1);
  }
  console.log("src/api/schema.gen.ts matches the API's OpenAPI document");
}
