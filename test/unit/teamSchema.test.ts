// The team profile's JSON schema (media/schema/rclone-devbox.schema.json, which package.json's
// jsonValidation gives VS Code for `.vscode/rclone-devbox.json`) cannot drift from what it copies:
// its "rclone.mounts" items are package.json's `rclone.mounts` setting items, its "tasks" items the
// rclone-devbox taskDefinition's properties (descriptions as package.nls.json says them), and
// every key it allows is one the core reader (src/core/teamProfile.ts) accepts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseTeamProfile } from '../../src/core/teamProfile';
import { ROOT } from '../helpers/root';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = { [key: string]: Json };

const read = <T>(file: string): T => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T;
const SCHEMA_FILE = 'media/schema/rclone-devbox.schema.json';

interface Manifest {
  contributes: {
    configuration: { properties: Record<string, Schema> };
    taskDefinitions: Array<{ type: string; required: string[]; properties: Record<string, Schema> }>;
    jsonValidation: Array<{ fileMatch: string; url: string }>;
  };
}

/** package.json's values with its "%key%" strings as package.nls.json says them (English). */
function resolveNls(value: Json, nls: Record<string, string>): Json {
  if (typeof value === 'string') {
    const m = /^%([^%]+)%$/.exec(value);
    if (m) {
      assert.ok(m[1]! in nls, `package.nls.json has no ${m[1]}`);
      return nls[m[1]!]!;
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => resolveNls(v, nls));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveNls(v, nls)]));
  return value;
}

/** The schema's properties without their plain `description` (the copy of markdownDescription for other tools). */
function withoutDescription(value: Json): Json {
  if (Array.isArray(value)) return value.map(withoutDescription);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => k !== 'description')
        .map(([k, v]) => [k, withoutDescription(v)]),
    );
  return value;
}

/** Conditions on properties defined elsewhere (`if: {properties: {credentials: {const: …}}}`), not definitions. */
const CONDITIONS = new Set(['if', 'then', 'else', 'anyOf', 'oneOf', 'allOf', 'not']);

/** Every property schema under `properties`, anywhere in `schema` (conditions aside), with its path. */
function everyProperty(schema: Json, path = ''): Array<[string, Schema]> {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return [];
  const found: Array<[string, Schema]> = [];
  for (const [key, value] of Object.entries(schema)) {
    if (CONDITIONS.has(key)) continue;
    if (key === 'properties' && value && typeof value === 'object' && !Array.isArray(value))
      for (const [name, p] of Object.entries(value)) {
        found.push([`${path}/${name}`, p as Schema]);
        found.push(...everyProperty(p, `${path}/${name}`));
      }
    else if (key !== 'properties') found.push(...everyProperty(value, `${path}/${key}`));
  }
  return found;
}

describe('the team profile schema', () => {
  const manifest = read<Manifest>('package.json');
  const nls = read<Record<string, string>>('package.nls.json');
  const schema = read<Schema>(SCHEMA_FILE);
  const props = schema.properties as Record<string, Schema>;

  it('is JSON Schema draft-07, given to VS Code for .vscode/rclone-devbox.json', () => {
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.deepEqual(manifest.contributes.jsonValidation, [
      { fileMatch: '.vscode/rclone-devbox.json', url: `./${SCHEMA_FILE}` },
    ]);
  });

  it('allows nothing else at the top and in a remote', () => {
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(props).sort(), ['$schema', 'rclone.mounts', 'remotes', 'tasks']);
    const remote = props.remotes!.additionalProperties as Schema;
    assert.equal(remote.additionalProperties, false);
    const fields = remote.properties as Record<string, Schema>;
    assert.deepEqual(Object.keys(fields).sort(), ['command', 'credentials', 'endpoint', 'provider', 'region', 'type']);
    assert.deepEqual(fields.type!.enum, ['s3']);
    assert.deepEqual(fields.credentials!.enum, ['keys', 'session', 'command']);
  });

  it('every property has a description (and its markdownDescription)', () => {
    const all = everyProperty(schema);
    assert.ok(all.length > 25, `only ${all.length} properties found`);
    for (const [path, p] of all) {
      assert.equal(typeof p.description, 'string', `${path} has no description`);
      assert.ok((p.description as string).trim(), `${path}: empty description`);
      assert.equal(p.markdownDescription, p.description, `${path}: description and markdownDescription differ`);
    }
  });

  it('its "rclone.mounts" items are the rclone.mounts setting items of package.json', () => {
    const setting = manifest.contributes.configuration.properties['rclone.mounts']!;
    assert.deepEqual(
      withoutDescription((props['rclone.mounts']!.items as Schema) ?? null),
      resolveNls(setting.items!, nls),
      `copy package.json's rclone.mounts items (descriptions from package.nls.json) into ${SCHEMA_FILE}`,
    );
  });

  it('its "tasks" items have the rclone-devbox taskDefinition properties, plus type and label', () => {
    const def = manifest.contributes.taskDefinitions.find((d) => d.type === 'rclone-devbox')!;
    const items = props.tasks!.items as Schema;
    const fields = items.properties as Record<string, Schema>;
    assert.deepEqual(Object.keys(fields).sort(), ['label', 'type', ...Object.keys(def.properties)].sort());
    for (const [key, p] of Object.entries(def.properties))
      assert.deepEqual(
        withoutDescription(fields[key]!),
        resolveNls(p, nls),
        `the task property "${key}": copy it from package.json's taskDefinitions into ${SCHEMA_FILE}`,
      );
    assert.deepEqual(fields.type!.enum, ['rclone-devbox']);
    assert.deepEqual(items.required, ['type', 'label', ...def.required]);
    assert.equal(items.additionalProperties, false);
  });

  it('every key it allows is one the core reader accepts', () => {
    const remote = props.remotes!.additionalProperties as Schema;
    const fields = Object.keys(remote.properties as Schema);
    for (const credentials of ['keys', 'session', 'command']) {
      const one: Record<string, string> = Object.fromEntries(fields.map((f) => [f, `x-${f}`]));
      Object.assign(one, { type: 's3', credentials, command: 'printf {}' });
      const text = JSON.stringify({
        $schema: `./${SCHEMA_FILE}`,
        remotes: { team: one },
        'rclone.mounts': [],
        tasks: [],
      });
      const parsed = parseTeamProfile(text, '/x/.vscode/rclone-devbox.json');
      assert.equal(parsed.remotes.team?.credentials, credentials);
    }
  });
});
