// The team profile: `.vscode/rclone-devbox.json`, committed with the repository, holds everything
// about the box except secrets, so a teammate's fresh box is one secrets step away from "Bring Up":
//   "remotes":       name → type, provider, endpoint, region, and how it authenticates (keys, keys
//                    with a session token, or a credentials command: a command is not a secret)
//   "rclone.mounts": mount profiles, as in settings.json
//   "tasks":         rclone-devbox tasks, as in tasks.json (links such as outputs → outputs/${hostname})
// JSON with comments, checked against the schema package.json contributes for the file (positions
// in the editor); the checks below say the same with a line number, for the CLI.
import { join } from 'node:path';
import * as l10n from '@vscode/l10n';
import type { Remote } from './config';
import { RcloneError } from './errors';
import { readOptional, stripJsonc } from './jsonc';

export const TEAM_PROFILE = join('.vscode', 'rclone-devbox.json');

export type TeamCredentials = 'keys' | 'session' | 'command';

/** A remote as the team describes it: no secret. */
export interface TeamRemote {
  type: 's3';
  provider?: string;
  endpoint?: string;
  region?: string;
  credentials: TeamCredentials;
  /** For credentials "command": the command that prints credential_process JSON. */
  command?: string;
}

export interface TeamProfile {
  file: string;
  remotes: Record<string, TeamRemote>;
  /** The raw "rclone.mounts" and "tasks", checked by the workspace reader like settings.json's and tasks.json's. */
  mounts?: unknown;
  tasks?: unknown;
}

const TOP_KEYS = new Set(['$schema', 'remotes', 'rclone.mounts', 'tasks']);
const REMOTE_KEYS: Record<string, 'string'> = {
  type: 'string',
  provider: 'string',
  endpoint: 'string',
  region: 'string',
  credentials: 'string',
  command: 'string',
};

/**
 * Where `"key":` first appears at or after `from` in `json` (the profile with its comments blanked
 * by stripJsonc, so positions are the file's): a key, not the same word in a value or a comment.
 * -1 when nowhere.
 */
function keyAt(json: string, key: string, from = 0): number {
  const quoted = JSON.stringify(key);
  for (let at = json.indexOf(quoted, Math.max(from, 0)); at >= 0; at = json.indexOf(quoted, at + 1)) {
    let next = at + quoted.length;
    while (next < json.length && /\s/.test(json[next]!)) next++;
    if (json[next] === ':') return at;
  }
  return -1;
}

/** The line (1-based) of `"key":` after `from` (see keyAt), for messages; 1 when it is not found. */
function lineOf(json: string, key: string, from = 0): number {
  const at = keyAt(json, key, from);
  return at < 0 ? 1 : json.slice(0, at).split('\n').length;
}

/** The folder's team profile, undefined when it has none; ConfigInvalid naming the file and line when it is wrong. */
export async function readTeamProfile(folder: string): Promise<TeamProfile | undefined> {
  const file = join(folder, TEAM_PROFILE);
  const text = await readOptional(file);
  return text === undefined ? undefined : parseTeamProfile(text, file);
}

export function parseTeamProfile(text: string, file: string): TeamProfile {
  const wrong = (line: number, problem: string) =>
    new RcloneError('ConfigInvalid', l10n.t('{0}:{1}: {2}', file, line, problem), {
      fix: l10n.t(
        'Fix the team profile: "remotes" (name → type, provider, endpoint, region, credentials), "rclone.mounts" and "tasks"; VS Code checks it as you type.',
      ),
    });
  // Positions in `json` are the file's: comments and trailing commas are blanked, not removed.
  const json = stripJsonc(text);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw wrong(1, l10n.t('not valid JSON: {0}', (e as Error).message));
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw wrong(1, l10n.t('not a JSON object'));
  const top = value as Record<string, unknown>;
  for (const key of Object.keys(top))
    if (!TOP_KEYS.has(key)) throw wrong(lineOf(json, key), l10n.t('unknown key "{0}"', key));
  const remotes: Record<string, TeamRemote> = {};
  const raw = top.remotes ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw) || raw === null)
    throw wrong(lineOf(json, 'remotes'), l10n.t('"remotes" must be an object: remote name → its description'));
  for (const [name, r] of Object.entries(raw as Record<string, unknown>)) {
    const at = lineOf(json, name, keyAt(json, 'remotes'));
    if (!r || typeof r !== 'object' || Array.isArray(r))
      throw wrong(at, l10n.t('remote "{0}" must be an object', name));
    const fields = r as Record<string, unknown>;
    for (const [key, v] of Object.entries(fields)) {
      if (!(key in REMOTE_KEYS))
        throw wrong(
          lineOf(json, key, keyAt(json, name, keyAt(json, 'remotes'))),
          l10n.t('remote "{0}": unknown key "{1}"', name, key),
        );
      if (typeof v !== REMOTE_KEYS[key])
        throw wrong(
          lineOf(json, key, keyAt(json, name, keyAt(json, 'remotes'))),
          l10n.t('remote "{0}": "{1}" must be a string, not {2}', name, key, JSON.stringify(v)),
        );
    }
    if (fields.type !== 's3') throw wrong(at, l10n.t('remote "{0}": "type" must be "s3"', name));
    const credentials = (fields.credentials ?? 'keys') as string;
    if (!['keys', 'session', 'command'].includes(credentials))
      throw wrong(
        at,
        l10n.t('remote "{0}": "credentials" is "keys", "session" or "command", not "{1}"', name, credentials),
      );
    if (credentials === 'command' && !(fields.command as string | undefined)?.trim())
      throw wrong(at, l10n.t('remote "{0}": credentials "command" needs its "command"', name));
    if (!fields.endpoint && !fields.region)
      throw wrong(at, l10n.t('remote "{0}" needs an "endpoint" (or, for AWS, a "region")', name));
    remotes[name] = { ...(fields as Omit<TeamRemote, 'credentials'>), credentials: credentials as TeamCredentials };
  }
  return { file, remotes, mounts: top['rclone.mounts'], tasks: top.tasks };
}

/** A difference between the team's remote and the local one: what, the team's value, the local one. */
export interface Drift {
  field: 'remote' | 'provider' | 'endpoint' | 'region' | 'credentials';
  team?: string;
  local?: string;
}

/** How the local remote differs from the team's; [{field: 'remote'}] when there is none. */
export function driftOf(team: TeamRemote, local: Remote | undefined): Drift[] {
  if (!local) return [{ field: 'remote' }];
  const drift: Drift[] = [];
  const same = (a?: string, b?: string) => (a ?? '').replace(/\/+$/, '') === (b ?? '').replace(/\/+$/, '');
  for (const field of ['provider', 'endpoint', 'region'] as const)
    if (team[field] !== undefined && !same(team[field], local[field]))
      drift.push({ field, team: team[field], local: local[field] });
  if (local.credentials && local.credentials !== 'env' && local.credentials !== team.credentials)
    drift.push({ field: 'credentials', team: team.credentials, local: local.credentials });
  return drift;
}

// ---- a team remote as rclone.conf values (Set Up Remote in the editor, `rclone-devbox setup`) ----

/** rclone.conf values: a key set to undefined is removed from the remote; a key left out stays as it is. */
export type RemoteValues = Record<string, string | undefined>;

/** What the team profile fixes of remote `team` (type s3): its provider, endpoint and region, as given. */
export function teamRemoteValues(team: TeamRemote): RemoteValues {
  const values: RemoteValues = {};
  for (const field of ['provider', 'endpoint', 'region'] as const) if (team[field]) values[field] = team[field];
  return values;
}

/** The secrets of keys (and a session token), as typed; an empty one is left out (an edit keeps the old one). */
export interface TypedKeys {
  keyId?: string;
  secret?: string;
  /** Only for "session". */
  token?: string;
}

/**
 * The values of keys (`keys`) or of temporary keys (`session`: with their session token): the keys
 * in the remote itself, so env_auth and profile are cleared (rclone then reads neither the
 * environment nor a profile for it), and for `keys` a session token it had is removed.
 */
export function keyValues(kind: 'keys' | 'session', typed: TypedKeys): RemoteValues {
  const values: RemoteValues = {};
  if (typed.keyId?.trim()) values.access_key_id = typed.keyId.trim();
  if (typed.secret) values.secret_access_key = typed.secret;
  if (kind === 'session') {
    if (typed.token?.trim()) values.session_token = typed.token.trim();
  } else values.session_token = undefined;
  values.env_auth = undefined;
  values.profile = undefined;
  return values;
}

/**
 * The values of a remote whose credentials come from a command: env_auth, and no keys. The caller
 * adds `profile` (awsConfig.profileFor) once the command has worked and is in the AWS config file.
 */
export function commandValues(values: RemoteValues = {}): RemoteValues {
  return {
    ...values,
    env_auth: 'true',
    access_key_id: undefined,
    secret_access_key: undefined,
    session_token: undefined,
  };
}
