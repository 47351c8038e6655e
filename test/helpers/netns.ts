// Network namespaces a test makes (ip netns), each with its loopback up, deleted when the test ends.
import {execFileSync} from 'node:child_process';
import type {ExecutionContext} from 'ava';

/** Makes `tcptop-LABEL-PID` and returns its name. */
export function testNamespace(t: ExecutionContext, label: string): string {
	const namespace = `tcptop-${label}-${process.pid}`;
	execFileSync('ip', ['netns', 'add', namespace]);
	t.teardown(() => {
		execFileSync('ip', ['netns', 'del', namespace]);
	});
	execFileSync('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
	return namespace;
}
