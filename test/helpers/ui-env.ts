// Imported first by the view's tests, before React and Ink load.
import {ciVariables} from './ci-unset.js';
import chalk from 'chalk';
import {installFastOutput} from '../../src/ui/fast-output.js';

// React's production build, as tcptop runs it: the development build records a performance
// measure for every component render and slows long tests to a crawl.
process.env.NODE_ENV = 'production';

// Colour on in frames, so tests can tell colour from no colour although ava's output is a pipe.
// Chalk (Ink's styling) fixes its level when first imported, which ava's own reporter does
// before any test file loads: the level is set on the shared instance instead.
chalk.level = 1;

// Frames drawn the way tcptop draws them (src/ui/run-view.tsx installs the same).
await installFastOutput();

// Ink loaded (installFastOutput may not have needed it), the CI variables go back.
await import('ink');
for (const [name, value] of Object.entries(ciVariables)) {
	if (value !== undefined) {
		process.env[name] = value;
	}
}
