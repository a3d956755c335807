// The team profile (.vscode/rclone-devbox.json): what it refuses, each with the file and the line
// to fix; how a local remote differs from the team's (driftOf); and how the workspace reader merges
// its mount profiles and tasks after the user's own (readWorkspace), on real files in a temp folder.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Remote } from '../../src/core/config';
import { isRcloneError } from '../../src/core/errors';
import { driftOf, parseTeamProfile, readTeamProfile, TEAM_PROFILE, type TeamRemote } from '../../src/core/teamProfile';
import { readWorkspace } from '../../src/core/workspace';
import { ROOT, tempDir } from '../helpers/fixtures';

const FILE = '/ws/.vscode/rclone-devbox.json';

/** parseTeamProfile refuses `text` with ConfigInvalid naming the file, line `line` and `words`. */
function refuses(text: string, line: number, words: RegExp) {
  assert.throws(
    () => parseTeamProfile(text, FILE),
    (e) => {
      assert.ok(isRcloneError(e, 'ConfigInvalid'), String(e));
      assert.ok(e.message.startsWith(`${FILE}:${line}: `), `line ${line}: ${e.message}`);
      assert.match(e.message, words);
      assert.match(e.fix, /team profile/);
      return true;
    },
  );
}

/** A team profile whose remote "compshare" has `fields` (one per line, from line 4). */
const withRemote = (fields: string) => `{
  "remotes": {
    "compshare": {
${fields}
    }
  }
}
`;

describe('parseTeamProfile', () => {
  it('a value with ",}" or ",]" keeps them; a key named in a comment or as a value does not move the line an error names', () => {
    const p = parseTeamProfile(
      `{
  "remotes": {
    "compshare": { "type": "s3", "endpoint": "http://10.0.0.1", "credentials": "command", "command": "broker --tags a,} --x b, ]", },
  },
}`,
      FILE,
    );
    assert.equal(p.remotes.compshare?.command, 'broker --tags a,} --x b, ]');
    refuses(
      `{
  // "colour" is not a key of a remote: the one on line 7 is refused, not this comment
  "remotes": {
    "compshare": {
      "type": "s3",
      "provider": "colour",
      "colour": "blue"
    }
  }
}`,
      7,
      /remote "compshare": unknown key "colour"/,
    );
  });

  it('reads JSON with comments and trailing commas, as VS Code writes it', () => {
    const text = `{
  // the team's storage: no secrets here
  "$schema": "vscode://schemas/rclone-devbox",
  "remotes": {
    "compshare": {
      "type": "s3",
      "provider": "Other", /* UCloud US3 */
      "endpoint": "http://internal.s3-cn-bj.ufileos.com",
      "credentials": "command",
      "command": "ucloud-sts --json",
    },
    "aws": { "type": "s3", "provider": "AWS", "region": "us-east-1", },
  },
  "rclone.mounts": [
    { "remote": "compshare:index-tts-data", "mountPoint": "/mnt/index-tts-storage", "cacheMode": "full", "warm": ["cache_hub"] },
  ],
  "tasks": [{ "type": "rclone-devbox", "label": "webui", "mount": "compshare:index-tts-data" }],
}
`;
    const p = parseTeamProfile(text, FILE);
    assert.equal(p.file, FILE);
    assert.deepEqual(p.remotes, {
      compshare: {
        type: 's3',
        provider: 'Other',
        endpoint: 'http://internal.s3-cn-bj.ufileos.com',
        credentials: 'command',
        command: 'ucloud-sts --json',
      },
      aws: { type: 's3', provider: 'AWS', region: 'us-east-1', credentials: 'keys' },
    });
    assert.deepEqual(p.mounts, [
      {
        remote: 'compshare:index-tts-data',
        mountPoint: '/mnt/index-tts-storage',
        cacheMode: 'full',
        warm: ['cache_hub'],
      },
    ]);
    assert.deepEqual(p.tasks, [{ type: 'rclone-devbox', label: 'webui', mount: 'compshare:index-tts-data' }]);
  });

  it('an empty object is a profile with no remotes', () => {
    assert.deepEqual(parseTeamProfile('{}\n', FILE), { file: FILE, remotes: {}, mounts: undefined, tasks: undefined });
  });

  it('refuses what is not JSON, or not an object, at line 1', () => {
    refuses('{ "remotes": ', 1, /not valid JSON/);
    refuses('[]', 1, /not a JSON object/);
    refuses('"remotes"', 1, /not a JSON object/);
  });

  it('refuses an unknown key at the top level, on its line', () => {
    refuses(
      `{
  "remotes": {},

  "mounts": []
}`,
      4,
      /unknown key "mounts"/,
    );
  });

  it('refuses an unknown key in a remote, on its line', () => {
    refuses(
      withRemote(`      "type": "s3",
      "endpoint": "s3-cn-bj.ufileos.com",
      "secret_access_key": "abc"`),
      6,
      /remote "compshare": unknown key "secret_access_key"/,
    );
  });

  it('refuses wrong types: "remotes" not an object, a remote not an object, a field not a string', () => {
    refuses(
      `{
  // remotes by name
  "remotes": ["compshare"]
}`,
      3,
      /"remotes" must be an object/,
    );
    refuses(
      `{
  "remotes": {
    "compshare": "s3-cn-bj.ufileos.com"
  }
}`,
      3,
      /remote "compshare" must be an object/,
    );
    refuses(
      withRemote(`      "type": "s3",
      "endpoint": 443`),
      5,
      /remote "compshare": "endpoint" must be a string, not 443/,
    );
    refuses(withRemote(`      "type": ["s3"]`), 4, /remote "compshare": "type" must be a string, not \["s3"\]/);
  });

  it('refuses a remote that is not s3, or has neither endpoint nor region, at the remote', () => {
    refuses(withRemote(`      "type": "sftp", "endpoint": "box"`), 3, /remote "compshare": "type" must be "s3"/);
    refuses(
      withRemote(`      "type": "s3",
      "provider": "Other"`),
      3,
      /remote "compshare" needs an "endpoint" \(or, for AWS, a "region"\)/,
    );
  });

  it('refuses a credentials kind it does not know, and a "command" remote without its command', () => {
    refuses(
      withRemote(`      "type": "s3",
      "endpoint": "s3-cn-bj.ufileos.com",
      "credentials": "password"`),
      3,
      /"credentials" is "keys", "session" or "command", not "password"/,
    );
    refuses(
      withRemote(`      "type": "s3",
      "endpoint": "s3-cn-bj.ufileos.com",
      "credentials": "command"`),
      3,
      /remote "compshare": credentials "command" needs its "command"/,
    );
    refuses(
      withRemote(`      "type": "s3",
      "endpoint": "s3-cn-bj.ufileos.com",
      "credentials": "command",
      "command": "   "`),
      3,
      /credentials "command" needs its "command"/,
    );
    // "session" and "keys" need nothing more
    for (const kind of ['keys', 'session'])
      assert.equal(
        parseTeamProfile(withRemote(`"type": "s3", "endpoint": "e", "credentials": "${kind}"`), FILE).remotes.compshare
          ?.credentials,
        kind,
      );
  });

  it('readTeamProfile: none in the folder is undefined; a wrong one names its real path', async () => {
    const dir = tempDir('rdb-team-');
    try {
      assert.equal(await readTeamProfile(dir.path), undefined);
      mkdirSync(join(dir.path, '.vscode'));
      writeFileSync(join(dir.path, TEAM_PROFILE), '{\n  "remote": {}\n}\n');
      await assert.rejects(
        readTeamProfile(dir.path),
        (e) =>
          isRcloneError(e, 'ConfigInvalid') &&
          e.message === `${join(dir.path, '.vscode', 'rclone-devbox.json')}:2: unknown key "remote"`,
      );
    } finally {
      dir.dispose();
    }
  });
});

describe('driftOf', () => {
  const team: TeamRemote = {
    type: 's3',
    provider: 'Other',
    endpoint: 'http://internal.s3-cn-bj.ufileos.com',
    credentials: 'keys',
  };
  const local = (fields: Partial<Remote>): Remote => ({
    name: 'compshare',
    type: 's3',
    provider: 'Other',
    endpoint: 'http://internal.s3-cn-bj.ufileos.com',
    credentials: 'keys',
    source: 'file',
    ...fields,
  });

  it('a missing remote is one drift: "remote"', () => {
    assert.deepEqual(driftOf(team, undefined), [{ field: 'remote' }]);
  });

  it('the same remote has none; trailing slashes of an endpoint are no difference', () => {
    assert.deepEqual(driftOf(team, local({})), []);
    assert.deepEqual(driftOf(team, local({ endpoint: 'http://internal.s3-cn-bj.ufileos.com/' })), []);
    assert.deepEqual(driftOf({ ...team, endpoint: `${team.endpoint!}//` }, local({})), []);
  });

  it('finds each field that differs, with the team value and the local one', () => {
    assert.deepEqual(driftOf(team, local({ endpoint: 'https://s3-cn-bj.ufileos.com' })), [
      { field: 'endpoint', team: team.endpoint, local: 'https://s3-cn-bj.ufileos.com' },
    ]);
    assert.deepEqual(driftOf(team, local({ provider: 'Minio' })), [
      { field: 'provider', team: 'Other', local: 'Minio' },
    ]);
    assert.deepEqual(driftOf({ ...team, region: 'cn-bj' }, local({ region: 'us-east-1' })), [
      { field: 'region', team: 'cn-bj', local: 'us-east-1' },
    ]);
    assert.deepEqual(driftOf({ ...team, region: 'cn-bj' }, local({})), [
      { field: 'region', team: 'cn-bj', local: undefined },
    ]);
    assert.deepEqual(driftOf(team, local({ credentials: 'session' })), [
      { field: 'credentials', team: 'keys', local: 'session' },
    ]);
    assert.deepEqual(
      driftOf(
        { ...team, credentials: 'command', command: 'sts' },
        local({ provider: 'AWS', endpoint: 'https://s3.example.com', credentials: 'keys' }),
      ),
      [
        { field: 'provider', team: 'Other', local: 'AWS' },
        { field: 'endpoint', team: team.endpoint, local: 'https://s3.example.com' },
        { field: 'credentials', team: 'command', local: 'keys' },
      ],
    );
  });

  it('what the team does not say is no difference; credentials from the environment are no drift', () => {
    assert.deepEqual(
      driftOf({ type: 's3', endpoint: team.endpoint, credentials: 'keys' }, local({ provider: 'Minio' })),
      [],
    );
    assert.deepEqual(driftOf(team, local({ credentials: 'env' })), []);
    assert.deepEqual(driftOf({ ...team, credentials: 'command', command: 'sts' }, local({ credentials: 'env' })), []);
    assert.deepEqual(driftOf(team, local({ credentials: undefined })), []);
  });
});

describe('readWorkspace with a team profile', () => {
  /** Every folder a test made (a test may make more than one), removed after it. */
  const made: Array<ReturnType<typeof tempDir>> = [];
  afterEach(() => {
    for (const d of made.splice(0)) d.dispose();
  });

  /** A folder with .vscode/<name> for each entry of `files`. */
  function folder(files: Record<string, string>): string {
    const dir = tempDir('rdb-teamws-');
    made.push(dir);
    mkdirSync(join(dir.path, '.vscode'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir.path, '.vscode', name), text);
    return dir.path;
  }

  const TEAM = `{
  "remotes": { "compshare": { "type": "s3", "endpoint": "s3-cn-bj.ufileos.com" } },
  "rclone.mounts": [
    { "remote": "compshare:index-tts-data", "mountPoint": "/mnt/index-tts-storage", "cacheMode": "full", "warm": ["cache_hub"] },
    { "remote": "compshare:shared", "mountPoint": "\${workspaceFolder}/mnt/shared" },
  ],
  "tasks": [
    {
      "type": "rclone-devbox",
      "label": "webui",
      "mount": "compshare:index-tts-data",
      "link": { "cache_hub": "cache_hub_v23", "outputs": "outputs/\${hostname}" },
      "command": ["python", "webui.py"],
      "cwd": "\${workspaceFolder}/app",
    },
    { "type": "rclone-devbox", "label": "shared", "mount": "compshare:shared" },
    { "type": "shell", "label": "not ours", "command": "make" },
  ],
}
`;

  it("merges the team's mount profiles and tasks after the user's, substituting ${hostname} and ${workspaceFolder}", async () => {
    const ws = folder({
      'settings.json': `{
  // the user's own
  "rclone.mounts": [{ "remote": "s3:mine", "mountPoint": "/mnt/mine" }],
}`,
      'tasks.json': JSON.stringify({
        version: '2.0.0',
        tasks: [{ type: 'rclone-devbox', label: 'mine', mount: 's3:mine' }],
      }),
      'rclone-devbox.json': TEAM,
    });
    const def = await readWorkspace(ws);
    assert.deepEqual(
      def.profiles.map((p) => [p.remote, p.mountPoint, p.cacheMode]),
      [
        ['s3:mine', '/mnt/mine', 'writes'],
        ['compshare:index-tts-data', '/mnt/index-tts-storage', 'full'],
        ['compshare:shared', join(ws, 'mnt', 'shared'), 'writes'],
      ],
    );
    assert.deepEqual(def.profiles[1]!.warm, ['cache_hub']);
    assert.deepEqual(
      def.tasks.map((t) => t.label),
      ['mine', 'webui', 'shared'],
      'the user\'s first, then the team\'s rclone-devbox tasks (not its "shell" one)',
    );
    const webui = def.tasks[1]!;
    assert.deepEqual(webui.link, { cache_hub: 'cache_hub_v23', outputs: `outputs/${hostname()}` });
    assert.equal(webui.cwd, join(ws, 'app'));
    assert.deepEqual(def.sources, [
      join(ws, '.vscode', 'settings.json'),
      join(ws, '.vscode', 'tasks.json'),
      join(ws, '.vscode', 'rclone-devbox.json'),
    ]);
  });

  it("the user's profile of the same mount point and the user's task of the same label win", async () => {
    const ws = folder({
      'settings.json': JSON.stringify({
        'rclone.mounts': [
          { remote: 'compshare:index-tts-data', mountPoint: '/mnt/index-tts-storage/', cacheMode: 'writes' },
        ],
      }),
      'tasks.json': JSON.stringify({
        version: '2.0.0',
        tasks: [{ type: 'rclone-devbox', label: 'webui', mount: '/mnt/index-tts-storage', link: { cache_hub: 'v24' } }],
      }),
      'rclone-devbox.json': TEAM,
    });
    const def = await readWorkspace(ws);
    const at = def.profiles.filter((p) => p.mountPoint.replace(/\/$/, '') === '/mnt/index-tts-storage');
    assert.equal(at.length, 1, JSON.stringify(def.profiles));
    assert.equal(at[0]!.cacheMode, 'writes', "the user's profile");
    assert.deepEqual(
      def.tasks.map((t) => [t.label, t.link]),
      [
        ['webui', { cache_hub: 'v24' }],
        ['shared', undefined],
      ],
    );
  });

  it('the team profile alone is a whole definition: its task is the one `up` chooses', async () => {
    const ws = folder({ 'rclone-devbox.json': TEAM });
    const def = await readWorkspace(ws);
    assert.equal(def.tasks[0]?.label, 'webui');
    assert.deepEqual(def.sources, [join(ws, '.vscode', 'rclone-devbox.json')]);
  });

  it("a team profile's mount profile of the wrong type is refused naming the team file", async () => {
    const ws = folder({
      'rclone-devbox.json': JSON.stringify({ 'rclone.mounts': [{ remote: 'compshare:x', mountPoint: 7 }] }),
    });
    await assert.rejects(
      readWorkspace(ws),
      (e) =>
        isRcloneError(e, 'ConfigInvalid') &&
        e.message.startsWith(join(ws, '.vscode', 'rclone-devbox.json')) &&
        /"mountPoint" is 7/.test(e.message),
    );
    const bad = folder({ 'rclone-devbox.json': '{ "remotes": { "x": { "type": "s3" } } }' });
    await assert.rejects(
      readWorkspace(bad),
      (e) => isRcloneError(e, 'ConfigInvalid') && /needs an "endpoint"/.test(e.message),
    );
  });

  it('--config reads only the file given, not the team profile', async () => {
    const ws = folder({ 'rclone-devbox.json': TEAM });
    const config = join(ws, 'boot.json');
    writeFileSync(config, JSON.stringify({ 'rclone.mounts': [{ remote: 's3:boot', mountPoint: '/mnt/boot' }] }));
    const def = await readWorkspace(ws, config);
    assert.deepEqual(
      def.profiles.map((p) => p.remote),
      ['s3:boot'],
    );
    assert.deepEqual(def.tasks, []);
    assert.deepEqual(def.sources, [config]);
  });
});

describe("the READMEs' team profile", () => {
  for (const [file, heading] of [
    ['README.md', '## Team profile\n'],
    ['README.zh-CN.md', '## 团队配置\n'],
  ] as const) {
    it(`${file}: its example is a team profile that brings IndexTTS2 up with outputs/\${hostname}`, async () => {
      const readme = readFileSync(join(ROOT, file), 'utf8');
      const start = readme.indexOf(heading);
      assert.ok(start >= 0, `${file} has the section`);
      const json = /```json\n([\s\S]*?)```/.exec(readme.slice(start))?.[1];
      assert.ok(json, 'the section has the example');
      const p = parseTeamProfile(json, 'README');
      assert.equal(p.remotes.compshare?.credentials, 'command');
      const dir = tempDir('rdb-teamreadme-');
      try {
        mkdirSync(join(dir.path, '.vscode'));
        writeFileSync(join(dir.path, TEAM_PROFILE), json);
        const def = await readWorkspace(dir.path);
        assert.deepEqual(
          def.profiles.map((x) => [x.remote, x.mountPoint, x.cacheMode, x.warm]),
          [['compshare:index-tts-data', '/mnt/index-tts-storage', 'full', ['cache_hub']]],
        );
        assert.deepEqual(def.tasks[0]?.link, { cache_hub: 'cache_hub_v23', outputs: `outputs/${hostname()}` });
      } finally {
        dir.dispose();
      }
    });
  }
});
