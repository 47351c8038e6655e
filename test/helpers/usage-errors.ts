// Shared checks for how the command line refuses bad input. Kept apart from cli.ts, which
// the benchmarks import too and which must therefore not load ava.
import test, {type ExecutionContext} from 'ava';
import {run} from './cli.js';

export function assertOneLineError(t: ExecutionContext, stderr: string, pattern: RegExp) {
	t.regex(stderr, /^tcptop: [^\n]+\n$/, 'exactly one line, starting with tcptop:');
	t.regex(stderr, pattern);
	t.notRegex(stderr, /\n\s+at /, 'no stack trace');
}

/** One test per case: these arguments exit 2 with one line matching the pattern, nothing on stdout. */
export function testUsageErrors(cases: ReadonlyArray<[string[], RegExp]>) {
	for (const [args, pattern] of cases) {
		test(`usage error: tcptop ${args.join(' ')}`, async t => {
			const {code, stdout, stderr} = await run(args);
			t.is(code, 2);
			t.is(stdout, '');
			assertOneLineError(t, stderr, pattern);
		});
	}
}
