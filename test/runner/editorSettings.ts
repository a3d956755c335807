// The settings of a VS Code server window opened for tests or the demo: no Restricted Mode (it
// would disable the extension), nothing that reaches for the internet, no chat panel beside the view.
export const QUIET_EDITOR = {
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'update.mode': 'none',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
};
