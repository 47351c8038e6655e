// Imported before Ink loads (by ui-env.ts). Ink decides once, when it is first imported, that it
// runs in CI if CI or CONTINUOUS_INTEGRATION is set, and then draws nothing until it exits;
// tcptop's view clears both before Ink loads (src/cli.ts), so the view's tests load Ink the same
// way. ui-env.ts puts them back once Ink has loaded: the tests themselves still read them.
export const ciVariables = {CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION};
delete process.env.CI;
delete process.env.CONTINUOUS_INTEGRATION;
