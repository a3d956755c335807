// `rclone-devbox setup`: a fresh box's one secrets step, from a shell. The folder's team profile
// (.vscode/rclone-devbox.json, or the file --config names) describes its remotes without secrets;
// each one rclone's config lacks is created from it as the editor's Set Up Remote does (the same
// values: core/teamProfile.ts), asking only for what is secret: the access key ID and secret key
// (and session token), typed with echo off at a terminal or read from stdin one per line; at a
// terminal, also when a session token expires (kept where the editor looks for it). A
// credentials command comes from the repository, so it runs only once allowed (a question at the
// terminal, or --yes); it is tried once, then put in the AWS config file as Add Remote puts it.
// Each new remote is tried by listing its buckets. A remote already there is left as it is (how it
// differs from the team's is `doctor`'s to say). Secrets never reach argv, the output or the log.
import { relative, resolve } from 'node:path';
import * as l10n from '@vscode/l10n';
import { profileFor, setCredentialProcess, tryCredentialProcess } from '../core/awsConfig';
import { checkRemoteName, RcloneConfig, type Remote } from '../core/config';
import { isRcloneError, RcloneError } from '../core/errors';
import { ExpiryStore, parseExpiry } from '../core/expiry';
import { readOptional } from '../core/jsonc';
import { listBuckets } from '../core/listing';
import { defaultStateDir } from '../core/mounts';
import type { Rclone } from '../core/rclone';
import {
  commandValues,
  keyValues,
  parseTeamProfile,
  readTeamProfile,
  TEAM_PROFILE,
  type TeamProfile,
  type TeamRemote,
  teamRemoteValues,
} from '../core/teamProfile';
import { readWorkspace } from '../core/workspace';
import type { Options } from './args';
import { describe } from './fixes';
import type { Io } from './mounts';
import { type Answers, answers } from './prompt';

/** Bound on one run of a credentials command (a broker may ask a vault first). */
const COMMAND_MS = 60_000;
/** Bound on the listing that tries a new remote. */
const LIST_MS = 30_000;

export async function setupCommand(o: Options, locate: () => Promise<Rclone>, io: Io): Promise<number> {
  const def = await readWorkspace(process.cwd(), o.config);
  // The workspace's rclone.configFile, unless the shell already chose one (as `up` does: the remote
  // goes where `up` will look for it).
  if (def.configFile && !process.env.RCLONE_CONFIG) process.env.RCLONE_CONFIG = def.configFile;
  // --config: that file is the team profile (as `up --config` reads its mounts and tasks from it).
  const file = o.config && resolve(o.config);
  const text = file && (await readOptional(file));
  const team = file ? text !== undefined && parseTeamProfile(text, file) : await readTeamProfile(def.folder);
  if (!team) {
    io.err(l10n.t`There is no team profile in ${def.folder} (${TEAM_PROFILE}): nothing to set up.`);
    io.err(l10n.t('Run it in the folder of a repository that has one, or name the file with --config.'));
    return 1;
  }
  const names = Object.keys(team.remotes);
  if (!names.length) {
    io.out(l10n.t`The team profile ${team.file} names no remotes: nothing to set up.`);
    return 0;
  }
  const rclone = await locate();
  const config = await RcloneConfig.open(rclone, io.signal);
  const locals = await config.remotes(io.signal);
  const missing: string[] = [];
  for (const name of names) {
    const local = locals.find((r) => r.name === name);
    if (local) io.out(alreadyThere(name, local, config.path));
    else missing.push(name);
  }
  if (!missing.length) {
    io.out(l10n.t`Nothing to set up: every remote of the team profile is in ${config.path}.`);
    return 0;
  }
  const asked = answers(io.signal);
  // A command from the repository runs only once someone allowed it: with nobody to ask and no
  // --yes, nothing at all is done (not even the remotes that need no command).
  const commands = missing.filter((n) => team.remotes[n]!.credentials === 'command');
  if (commands.length && !o.yes && !asked.terminal) {
    for (const name of commands)
      io.err(
        l10n.t(
          'The team profile runs `{0}` to get credentials for {1}: a command from the repository runs only once you allow it.',
          team.remotes[name]!.command!.trim(),
          name,
        ),
      );
    io.err(
      l10n.t(
        "Nothing was written. Run again with --yes to allow the team profile's credentials commands, or in a terminal to be asked.",
      ),
    );
    return 1;
  }
  const setup = new Setup(rclone, config, team, asked, o.yes === true, io);
  let failed = 0;
  try {
    for (const name of missing) if (!(await setup.one(name, team.remotes[name]!))) failed++;
  } finally {
    asked.close();
  }
  return failed ? 1 : 0;
}

/** "Remote X is already in …: left as it is" (or defined by RCLONE_CONFIG_X_* variables). */
function alreadyThere(name: string, local: Remote, path: string): string {
  return local.source === 'env'
    ? l10n.t(
        'Remote {0} is defined by RCLONE_CONFIG_{1}_* variables: left as it is (`rclone-devbox doctor` compares it with the team profile).',
        name,
        name.toUpperCase(),
      )
    : l10n.t(
        'Remote {0} is already in {1}: left as it is (`rclone-devbox doctor` compares it with the team profile).',
        name,
        path,
      );
}

class Setup {
  constructor(
    private readonly rclone: Rclone,
    private readonly config: RcloneConfig,
    private readonly team: TeamProfile,
    private readonly asked: Answers,
    private readonly yes: boolean,
    private readonly io: Io,
  ) {}

  /** Creates and tries remote `name`; false when it was not set up, or does not work (said on stderr). */
  async one(name: string, remote: TeamRemote): Promise<boolean> {
    const { io, config } = this;
    try {
      checkRemoteName(name); // before asking anything for it
      const values = teamRemoteValues(remote);
      if (remote.credentials === 'command') {
        const line = remote.command!.trim();
        if (!(await this.allowed(name, line))) {
          io.err(l10n.t`Left ${name} out: its credentials command was not allowed.`);
          return false;
        }
        // Tried before anything is written: a command that fails is said now, not at the first mount.
        const { expires } = await tryCredentialProcess(line, this.rclone.env, {
          timeoutMs: COMMAND_MS,
          signal: io.signal,
        });
        const profile = profileFor(name);
        await setCredentialProcess(this.rclone.env, profile, line);
        await config.setRemote(name, 's3', { ...commandValues(values), profile }, io.signal);
        io.log.info(`Added remote ${name} in ${config.path} (credentials from a command, profile ${profile}).`);
        if (expires)
          io.out(
            l10n.t(
              'The credentials command works: its credentials run until {0}, and rclone runs it again whenever they expire.',
              expires.toLocaleString(),
            ),
          );
      } else {
        const kind = remote.credentials;
        if (this.asked.terminal)
          io.err(
            l10n.t(
              'This repository\'s team profile uses the remote "{0}" ({1}, {2}). Set it up: one step for its credentials.',
              name,
              remote.provider ?? remote.type,
              remote.endpoint ?? remote.region ?? '',
            ),
          );
        const keyId = await this.required(name, l10n.t('Access key ID'), false);
        const secret = await this.required(name, l10n.t('Secret access key'), true);
        const token = kind === 'session' ? await this.required(name, l10n.t('Session token'), true) : undefined;
        // At a terminal, when a session token runs out too (stdin keeps its three lines per remote).
        const expires = kind === 'session' && this.asked.terminal ? await this.expiry(name) : undefined;
        await config.setRemote(name, 's3', { ...values, ...keyValues(kind, { keyId, secret, token }) }, io.signal);
        // What the editor goes by to stop this remote's mounts, uploads done, 2 minutes before.
        await ExpiryStore.in(defaultStateDir()).set(config.path, name, expires);
        io.log.info(`Added remote ${name} in ${config.path}.`);
      }
    } catch (e) {
      if (!isRcloneError(e) || e.kind === 'Cancelled' || e instanceof StdinEnded) throw e;
      io.err(describe(e, false, io.context).trimEnd());
      return false;
    }
    return this.tried(name);
  }

  /** Whether the team's credentials command may run: --yes, or a yes at the terminal. */
  private async allowed(name: string, line: string): Promise<boolean> {
    const { io } = this;
    if (this.yes) {
      io.out(l10n.t('Running `{0}` for the credentials of {1} (allowed with --yes).', line, name));
      return true;
    }
    io.err(
      l10n.t(
        'The command comes from the repository ({0}): allow it only if you trust it. It runs now once, then whenever rclone needs new credentials (as {1} in your AWS config file).',
        relative(process.cwd(), this.team.file) || this.team.file,
        profileFor(name),
      ),
    );
    return this.asked.confirm(l10n.t('The team profile runs `{0}` to get credentials for {1}. Allow?', line, name));
  }

  /** A value that must not be empty: asked again at a terminal; from stdin, an empty or missing line is an error. */
  private async required(name: string, label: string, secret: boolean): Promise<string> {
    for (;;) {
      const value = await this.asked.value(`${label}: `, secret);
      if (value === undefined) throw new StdinEnded(name, label);
      if (value.trim()) return value;
      if (!this.asked.terminal) throw new StdinEnded(name, label, true);
      this.io.err(l10n.t('Required'));
    }
  }

  /** When the session token expires, asked until the answer is a time to come, or empty (unknown). */
  private async expiry(name: string): Promise<Date | undefined> {
    for (;;) {
      const label = l10n.t('Expires (e.g. 1h, 90m, 17:30 or 2026-11-30T09:00Z; empty: unknown)');
      const value = await this.asked.value(`${label}: `, false);
      if (value === undefined) throw new StdinEnded(name, label);
      try {
        return parseExpiry(value);
      } catch (e) {
        if (!isRcloneError(e)) throw e;
        this.io.err(e.fix ? `${e.message} ${e.fix}` : e.message);
      }
    }
  }

  /** Lists the new remote's buckets: "Added remote X: 3 buckets found.", or why it does not work. */
  private async tried(name: string): Promise<boolean> {
    const { io } = this;
    try {
      const n = (await listBuckets(this.rclone, name, { timeoutMs: LIST_MS, signal: io.signal })).length;
      const found = n === 1 ? l10n.t('1 bucket') : l10n.t('{0} buckets', n);
      io.out(l10n.t('Added remote {0}: {1} found.', name, found));
      return true;
    } catch (e) {
      if (!isRcloneError(e) || e.kind === 'Cancelled') throw e;
      io.err(l10n.t`Added remote ${name} to ${this.config.path}, but listing its buckets failed:`);
      io.err(describe(e, false, io.context).trimEnd());
      return false;
    }
  }
}

/** stdin ended (or had an empty line) where a value was needed: nothing more is read or written. */
class StdinEnded extends RcloneError {
  constructor(name: string, label: string, empty = false) {
    super(
      'Unknown',
      empty
        ? l10n.t('{0} for {1}: its line on stdin is empty.', label, name)
        : l10n.t('{0} for {1}: stdin has no more lines.', label, name),
      {
        fix: l10n.t(
          'Give one value per line on stdin, for each remote the team profile names and rclone\'s config lacks, in the profile\'s order: its access key ID, its secret access key and, for "session" credentials, its session token.',
        ),
      },
    );
  }
}
