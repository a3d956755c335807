// The team profile in the editor: a repository's `.vscode/rclone-devbox.json` describes its remotes
// (everything but secrets). After startup, whenever that file changes and whenever the remotes
// change, each team remote is compared with the local rclone config: a missing one is offered
// "Set Up Remote", one that differs is named with its differences and offered "Apply Team Profile".
// Rclone: Apply Team Profile creates or updates them from the profile's values, asking only for
// what is secret (keys, a session token) or, for a credentials command (which comes from the
// repository, so it is a command the user has not written), whether it may run. Writing and trying
// a remote is Add / Edit Remote's own (remoteCommands.ts).
import { join } from 'node:path';
import * as vscode from 'vscode';
import { credentialProcessOf, profileFor } from '../core/awsConfig';
import type { Remote } from '../core/config';
import { type Drift, driftOf, TEAM_PROFILE, type TeamRemote, teamRemoteValues } from '../core/teamProfile';
import { command } from './commands';
import { showFailure } from './failures';
import { askKeys, commandConnection, saveRemote } from './remoteCommands';
import type { Services } from './services';

export interface TeamSurface extends vscode.Disposable {
  /** Compares the team remotes with the local ones and says what is missing or differs (each once). */
  check(): Promise<void>;
}

/** A team remote and how the local one differs from it (`[{ field: 'remote' }]`: there is none). */
interface Difference {
  name: string;
  team: TeamRemote;
  local: Remote | undefined;
  drift: Drift[];
  /** The team profile that describes it. */
  file: string;
}

export function register(svc: Services): TeamSurface {
  const team = new Team(svc);
  // After activation has returned, as extension.ts's afterStartup: reading rclone's config is work.
  const startup = setTimeout(() => void team.check(), 0);
  const disposables = vscode.Disposable.from(
    command(svc, 'rclone.applyTeamProfile', () => team.apply()),
    svc.settings.onDidChangeTeam(() => void team.check()),
    svc.onDidChangeRemotes(() => void team.check()),
    { dispose: () => clearTimeout(startup) },
  );
  return { check: () => team.check(), dispose: () => disposables.dispose() };
}

class Team {
  /** What was said in this window (a remote and its differences; a wrong file), so it is not said again. */
  private readonly said = new Set<string>();
  private applying = false;
  private checking: Promise<void> | undefined;
  private again = false;

  constructor(private readonly svc: Services) {}

  /** One check at a time; a call meanwhile checks once more after it. */
  check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.checkNow()
      .catch((e: Error) => this.svc.log.warn(`Team profile: ${e.message}`))
      .finally(() => {
        this.checking = undefined;
        if (this.again) {
          this.again = false;
          void this.check();
        }
      });
    return this.checking;
  }

  private async checkNow(): Promise<void> {
    if (this.applying) return; // its own writes are no news; it checks when it is done
    // What a new or changed team profile would mount is asked about now (as a workspace's settings
    // are when rclone is first needed), once per value; until approved it counts for nothing.
    if ((await this.svc.settings.teams()).some((e) => e.profile)) await this.svc.approveWorkspace();
    const differences = await this.differences();
    if (!differences) return;
    const now = new Set<string>();
    for (const d of differences) {
      const key = `${d.file}\0${d.name}\0${JSON.stringify(d.drift)}`;
      now.add(key);
      if (this.said.has(key)) continue;
      this.said.add(key);
      this.tell(d);
    }
    // A remote that matches again is told about again when it next differs.
    for (const key of [...this.said]) if (key.includes('\0') && !now.has(key)) this.said.delete(key);
  }

  private tell(d: Difference): void {
    const { svc } = this;
    if (!d.local) {
      svc.ui.notify(
        'info',
        vscode.l10n.t(
          'This repository\'s team profile uses the remote "{0}" ({1}, {2}). Set it up: one step for its credentials.',
          d.name,
          d.team.provider ?? d.team.type,
          d.team.endpoint ?? d.team.region ?? '',
        ),
        [
          {
            title: vscode.l10n.t('Set Up Remote'),
            run: () => vscode.commands.executeCommand('rclone.applyTeamProfile'),
          },
        ],
      );
      return;
    }
    const none = vscode.l10n.t('(none)');
    const list = d.drift
      .map((x) => vscode.l10n.t('{0}: {1} vs {2}', x.field, x.team ?? none, x.local ?? none))
      .join('; ');
    svc.ui.notify(
      'warning',
      vscode.l10n.t(
        'The remote "{0}" differs from this repository\'s team profile (team vs yours): {1}.',
        d.name,
        list,
      ),
      [
        {
          title: vscode.l10n.t('Apply Team Profile'),
          run: () => vscode.commands.executeCommand('rclone.applyTeamProfile'),
        },
      ],
    );
  }

  /**
   * The team remotes that are missing or differ, over every folder's team profile (a name two
   * folders describe: the first folder's); undefined when no folder has a team profile with remotes.
   * A team profile that cannot be read is said once (per problem).
   */
  private async differences(): Promise<Difference[] | undefined> {
    const { svc } = this;
    const teams = await svc.settings.teams();
    for (const e of teams)
      if (e.error) {
        const key = `error:${(e.error as Error).message}`;
        if (!this.said.has(key)) {
          this.said.add(key);
          showFailure(svc, e.error);
        }
      }
    const described = new Map<string, { team: TeamRemote; file: string }>();
    for (const e of teams)
      for (const [name, team] of Object.entries(e.profile?.remotes ?? {}))
        if (!described.has(name)) described.set(name, { team, file: join(e.folder.uri.fsPath, TEAM_PROFILE) });
    if (!described.size) return undefined;
    const config = await svc.config();
    const locals = await config.remotes();
    const env = (await svc.rclone()).env;
    const differences: Difference[] = [];
    for (const [name, { team, file }] of described) {
      const local = locals.find((r) => r.name === name);
      const drift = driftOf(team, local);
      // The same kind, a command: the command itself is the team's too.
      if (local?.credentials === 'command' && team.credentials === 'command' && local.profile) {
        const ours = await credentialProcessOf(env, local.profile);
        if (ours?.trim() !== team.command?.trim())
          drift.push({ field: 'credentials', team: team.command, local: ours });
      }
      if (drift.length) differences.push({ name, team, local, drift, file });
    }
    return differences;
  }

  /** Rclone: Apply Team Profile: each missing or differing team remote, created or updated. */
  async apply(): Promise<void> {
    const { svc } = this;
    if (this.applying) return;
    this.applying = true;
    try {
      const differences = await this.differences();
      if (!differences) {
        svc.ui.notify(
          'info',
          vscode.l10n.t('No workspace folder has a team profile with remotes ({0}).', TEAM_PROFILE),
        );
        return;
      }
      if (!differences.length) {
        svc.ui.notify('info', vscode.l10n.t('Your remotes are as the team profile describes them.'));
        return;
      }
      for (const d of differences) if (!(await this.applyOne(d))) break;
    } finally {
      this.applying = false;
    }
    await this.check();
  }

  /** Creates or updates one remote; false when the user gave up (the remotes after it are left too). */
  private async applyOne(d: Difference): Promise<boolean> {
    const { svc } = this;
    const { name, team, local } = d;
    if (local?.source === 'env') {
      // RCLONE_CONFIG_<NAME>_* variables would win over anything written to the file.
      svc.ui.notify(
        'warning',
        vscode.l10n.t(
          'The remote "{0}" is defined by RCLONE_CONFIG_* environment variables: change them to match the team profile.',
          name,
        ),
      );
      return true;
    }
    const values = teamRemoteValues(team);
    const verb = local ? 'Updated' : 'Added';
    try {
      // Only where it is, what it is: its credentials stay as they are, nothing to ask.
      if (local && !d.drift.some((x) => x.field === 'credentials')) {
        await saveRemote(svc, name, { values }, verb, local);
        return true;
      }
      if (team.credentials === 'command') {
        const line = team.command!.trim();
        const allowed = await svc.ui.confirm(
          vscode.l10n.t('The team profile runs `{0}` to get credentials for {1}. Allow?', line, name),
          vscode.l10n.t(
            'The command comes from the repository ({0}): allow it only if you trust it. It runs now once, then whenever rclone needs new credentials (as {1} in your AWS config file).',
            TEAM_PROFILE,
            profileFor(name),
          ),
          vscode.l10n.t('Allow'),
        );
        if (!allowed) return true; // this one is left as it is; the next may still be set up
        await saveRemote(svc, name, commandConnection(line, values), verb, local);
        return true;
      }
      const steps = team.credentials === 'session' ? 4 : 2;
      const title = vscode.l10n.t('Set Up {0}', name);
      const secrets = await askKeys(svc, team.credentials, false, (n) => `${title} (${n}/${steps})`);
      if (!secrets) return false;
      await saveRemote(svc, name, { ...secrets, values: { ...values, ...secrets.values } }, verb, local);
      return true;
    } catch (e) {
      showFailure(svc, e, { remote: name });
      return true;
    }
  }
}
