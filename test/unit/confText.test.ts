// The pure rclone.conf text functions, table by table: how rclone 1.60 reads a file (its goconfig
// parser: dotted names, repeated sections, CRLF/LF, quoting) and what an edit leaves behind.
// config.test.ts checks the same cases against real rclone.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRemotes } from '../../src/core/config';
import { checkValue, confValue, readConf, removeRemote, upsertRemote } from '../../src/core/confText';
import { isRcloneError } from '../../src/core/errors';

const asObject = (text: string) =>
  Object.fromEntries([...readConf(text)].map(([name, keys]) => [name, Object.fromEntries(keys)]));

describe('rclone.conf text is read as rclone 1.60 reads it', () => {
  const cases: [string, string, Record<string, Record<string, string>>][] = [
    ['empty', '', {}],
    ['a dotted name is one remote, not a nested one', '[s3.prod]\ntype = s3\n', { 's3.prod': { type: 's3' } }],
    [
      'a repeated section is merged, the later value of a key winning',
      '[a]\ntype = alias\nremote = /one\n\n[b]\ntype = local\n\n[a]\nremote = /two\nextra = x\n',
      { a: { type: 'alias', remote: '/two', extra: 'x' }, b: { type: 'local' } },
    ],
    [
      'CRLF, LF and a mix of them, with trailing spaces',
      '[a]\r\ntype = alias\r\nremote = /one\n[b]\ntype = local \r\n',
      { a: { type: 'alias', remote: '/one' }, b: { type: 'local' } },
    ],
    [
      'comments, indentation, "key: value", spaces around the header name',
      '# top\n; also\n  [ spaced ]  \n  type: local\n\tremote =  /x # not a comment\n',
      { spaced: { type: 'local', remote: '/x # not a comment' } },
    ],
    [
      'quoted values lose their quotes',
      '[q]\na = `v 1`\nb = """v 2"""\nc = "v3"\n',
      { q: { a: 'v 1', b: 'v 2', c: '"v3"' } },
    ],
    ['a byte order mark is skipped', '\uFEFF[a]\ntype = local\n', { a: { type: 'local' } }],
    [
      'keys before the first header form the DEFAULT remote',
      'type = local\n[a]\n',
      { DEFAULT: { type: 'local' }, a: {} },
    ],
    ['a header with no keys is a remote', '[lonely]\n', { lonely: {} }],
    ['the first "=" or ":" ends the key', '[a]\nendpoint = http://h:1/?a=b\n', { a: { endpoint: 'http://h:1/?a=b' } }],
  ];
  for (const [what, text, expected] of cases) {
    it(what, () => assert.deepEqual(asObject(text), expected));
  }

  for (const [what, text, line] of [
    ['a line that is not key = value', '[a]\ntype = local\nAKIA_PASTED_SECRET\n', 3],
    ['a key under an empty header', '[]\ntype = local\n', 2],
    ['an unclosed backtick value', '[a]\nsecret = `abc\n', 2],
  ] as const) {
    it(`refuses ${what}, as rclone does, naming the line but not its text`, () => {
      assert.throws(
        () => readConf(text),
        (e) =>
          isRcloneError(e, 'ConfigInvalid') &&
          e.message.includes(`Line ${line} `) &&
          !/AKIA|abc/.test(e.message + e.fix + e.detail),
      );
    });
  }

  it('a dotted remote takes keys it lacks from an existing parent section, as rclone does', () => {
    const conf = readConf(
      '[s3]\ntype = s3\nregion = eu\n[s3.prod]\nregion = us\n[x.y.z]\nfoo = 1\n[x]\ntype = local\n',
    );
    assert.equal(confValue(conf, 's3.prod', 'type'), 's3');
    assert.equal(confValue(conf, 's3.prod', 'region'), 'us');
    assert.equal(confValue(conf, 'x.y.z', 'type'), undefined, 'x.y does not exist, so the chain stops');
    assert.equal(confValue(conf, 'nope', 'type'), undefined);
  });

  it('parseRemotes lists what rclone lists: dotted names, merged sections, inherited types', () => {
    const text =
      '[s3]\r\ntype = s3\r\nprovider = Minio\n\n[s3.prod]\nendpoint = http://p\n\n[a]\ntype = drive\n[a]\ntype = local\n';
    assert.deepEqual(parseRemotes(text), [
      { name: 'a', type: 'local', source: 'file' },
      { name: 's3', type: 's3', provider: 'Minio', source: 'file' },
      { name: 's3.prod', type: 's3', provider: 'Minio', endpoint: 'http://p', source: 'file' },
    ]);
  });
});

describe('rclone.conf text edits change what rclone would use, and nothing else', () => {
  const upserts: [string, string, string, Record<string, string | undefined>, string][] = [
    [
      'adds a remote at the end',
      '[a]\ntype = local\n',
      'b',
      { type: 'local' },
      '[a]\ntype = local\n\n[b]\ntype = local\n',
    ],
    ['adds to an empty file', '', 'b', { type: 'local' }, '[b]\ntype = local\n'],
    [
      'adds with the line ending the file uses, after a last line without one',
      '[a]\r\ntype = local',
      'b',
      { type: 'local' },
      '[a]\r\ntype = local\r\n\r\n[b]\r\ntype = local\r\n',
    ],
    [
      'changes a key in place, keeping its indentation and its own line ending',
      '[a]\r\n  type = local\nremote = /x\r\n',
      'a',
      { type: 'alias', remote: undefined, extra: 'y' },
      '[a]\r\n  type = alias\nextra = y\r\n',
    ],
    [
      'of a repeated section, changes the line rclone uses (the last) and drops the ignored earlier one',
      '[a]\ntype = alias\nremote = /one\n\n[b]\ntype = local\n\n[a]\nremote = /two\n',
      'a',
      { remote: '/three', new: 'n' },
      '[a]\ntype = alias\n\n[b]\ntype = local\n\n[a]\nremote = /three\nnew = n\n',
    ],
    [
      'of a repeated section, removes a key from every section (else an earlier one would count again)',
      '[a]\nremote = /one\n[a]\nremote = /two\n',
      'a',
      { remote: undefined },
      '[a]\n[a]\n',
    ],
    [
      'edits a dotted remote in its own section, not its parent',
      '[s3]\ntype = s3\n\n[s3.prod]\nregion = us\n',
      's3.prod',
      { region: 'eu' },
      '[s3]\ntype = s3\n\n[s3.prod]\nregion = eu\n',
    ],
    ['keeps a byte order mark', '\uFEFF[a]\ntype = local\n', 'a', { type: 'alias' }, '\uFEFF[a]\ntype = alias\n'],
  ];
  for (const [what, text, name, values, expected] of upserts) {
    it(`upsert ${what}`, () => assert.equal(upsertRemote(text, name, values), expected));
  }

  const removals: [string, string, string, string][] = [
    [
      'removes every section of a repeated remote',
      '# keep\n[a]\ntype = alias\n\n[b]\ntype = local\n\n[a]\nremote = /two\n',
      'a',
      '# keep\n[b]\ntype = local\n',
    ],
    [
      'keeps the dotted children of a remote',
      '[s3]\ntype = s3\n\n[s3.prod]\nregion = us\n',
      's3',
      '[s3.prod]\nregion = us\n',
    ],
    [
      'keeps each line ending of a mixed file',
      '[a]\r\ntype = local\r\n\r\n[b]\ntype = local\n',
      'a',
      '[b]\ntype = local\n',
    ],
    ['leaves a file without the remote byte for byte', '[a]\r\ntype = local', 'zz', '[a]\r\ntype = local'],
    [
      'removes the last remote and the blank lines before it',
      '[a]\ntype = local\n\n\n[b]\ntype = local',
      'b',
      '[a]\ntype = local\n',
    ],
  ];
  for (const [what, text, name, expected] of removals) {
    it(`remove ${what}`, () => assert.equal(removeRemote(text, name), expected));
  }

  it('refuses values rclone would read back differently, with a typed error', () => {
    for (const [key, value] of [
      ['bad key', 'v'],
      ['k', 'two\nlines'],
      ['k', ' padded'],
      ['k', '`quoted`'],
      ['k', '"""quoted"""'],
      ['k', 'a%(other)sb'],
    ]) {
      assert.throws(
        () => checkValue(key!, value!),
        (e) => isRcloneError(e, 'ConfigInvalid'),
        `${key}=${value}`,
      );
    }
    for (const value of ['', 'http://h:1/?a=b', 'p ä$(x) `y` 50%', '"plain"']) checkValue('k', value);
  });
});
