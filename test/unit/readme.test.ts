// The READMEs' tables cannot drift: README.md and README.zh-CN.md are what test/readme.ts makes of
// them from package.json (settings, commands, the task's properties) and src/core/errors.ts (the
// troubleshooting table). A changed setting, command, task property or error text fails here until
// `npm run readme` writes the READMEs again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ErrorKind, TROUBLES } from '../../src/core/errors';
import { ROOT } from '../helpers/fixtures';
import { cell, fill, generateReadme, type ReadmeLocale, READMES, sections, SECTIONS } from '../readme';

/** Where two texts first differ, as a line number and both lines, for a message a person can act on. */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  const n = a.findIndex((line, i) => line !== e[i]);
  const at = n < 0 ? a.length : n;
  return `line ${at + 1}:\n  is:        ${a[at] ?? '(end of file)'}\n  generated: ${e[at] ?? '(end of file)'}`;
}

describe('the READMEs are what `npm run readme` makes', () => {
  for (const locale of Object.keys(READMES) as ReadmeLocale[]) {
    const file = READMES[locale];
    it(`${file}: its generated tables are up to date`, () => {
      const actual = readFileSync(join(ROOT, file), 'utf8');
      const expected = generateReadme(ROOT, locale, actual);
      assert.ok(
        actual === expected,
        `${file} differs from what the generator makes: run \`npm run readme\` (${firstDifference(actual, expected)})`,
      );
    });
  }

  it('README.md and README.zh-CN.md link to each other and show the same images', () => {
    const en = readFileSync(join(ROOT, READMES.en), 'utf8');
    const zh = readFileSync(join(ROOT, READMES['zh-cn']), 'utf8');
    assert.match(en, /\[中文说明\]\(README\.zh-CN\.md\)/);
    assert.match(zh, /\]\(README\.md\)/);
    const images = (text: string) => [...text.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    assert.deepEqual(images(zh), images(en));
  });

  it('the tables cover every setting, command, task property and error kind (but Cancelled)', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      contributes: {
        configuration: { properties: Record<string, unknown> };
        commands: { command: string }[];
        taskDefinitions: { type: string; properties: Record<string, unknown> }[];
      };
    };
    const made = sections(ROOT, 'en');
    const rowsOf = (table: string) => table.split('\n').filter((l) => l.startsWith('| `'));
    for (const name of Object.keys(manifest.contributes.configuration.properties))
      assert.ok(made.settings.includes(`| \`${name}\` |`), name);
    for (const c of manifest.contributes.commands) assert.ok(made.commands.includes(`| \`${c.command}\` |`), c.command);
    const task = manifest.contributes.taskDefinitions.find((d) => d.type === 'rclone-devbox')!;
    assert.equal(rowsOf(made.task).length, Object.keys(task.properties).length);
    for (const kind of Object.keys(TROUBLES) as ErrorKind[]) {
      const { seen, cause, fix } = TROUBLES[kind];
      const row = `| ${cell(seen)} | ${cell(cause)} | ${cell(fix)} |`;
      assert.equal(made.troubleshooting.includes(row), kind !== 'Cancelled', kind);
    }
  });

  it('a cell stays one cell: pipes escaped, newlines joined, `<` outside code not read as HTML', () => {
    assert.equal(cell('curl x | sudo bash'), 'curl x \\| sudo bash');
    assert.equal(cell('kill -CONT <pid>, `a|b <c>`'), 'kill -CONT &lt;pid>, `a\\|b <c>`');
    assert.equal(cell('Example:\n```json\n[{ "a": 1 }]\n```'), 'Example: `[{ "a": 1 }]`');
  });

  it('a README without the markers of a section is refused', () => {
    const bodies = Object.fromEntries(SECTIONS.map((s) => [s, s])) as Record<(typeof SECTIONS)[number], string>;
    assert.throws(() => fill('# no markers\n', bodies, 'X.md'), /X\.md has no "<!-- generated:settings -->"/);
  });
});
