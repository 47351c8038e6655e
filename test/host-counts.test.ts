// The header's per-state counts describe the host, not the table: with room for 100 rows and
// over 300 sockets, they still equal what ss -tan counts. In a network namespace of the test's
// own (--netns), so no other test's sockets come and go meanwhile.
import {spawn} from 'node:child_process';
import {once} from 'node:events';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {run} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {testNamespace} from './helpers/netns.js';
import {ssStatesIn} from './helpers/ss.js';

const holdMix = fileURLToPath(new URL('helpers/hold-mix.ts', import.meta.url));

kernelTest('-b --max-conns 100: the states are the host\'s, equal to ss -tan, with 300+ sockets and evictions counted', async t => {
	const namespace = testNamespace(t, 'counts');
	const holder = spawn('ip', ['netns', 'exec', namespace, process.execPath, '--import=tsx', holdMix, '120', '40', '40'], {stdio: ['pipe', 'pipe', 'inherit']});
	t.teardown(async () => {
		holder.stdin.end();
		await once(holder, 'exit');
	});
	const [line] = await once(createInterface({input: holder.stdout}), 'line') as [string];
	t.is(line, 'ready');

	const expected = ssStatesIn(namespace);
	const sockets = Object.values(expected).reduce((sum, count) => sum + count, 0);
	t.true(sockets >= 300, `the namespace holds ${sockets} sockets`);
	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--json', '--max-conns', '100', '--netns', namespace]);
	t.is(code, 0, stderr);
	const document = JSON.parse(stdout) as {states: Record<string, number>; tracked: number; evicted: number};
	const {CLOSE: closed, ...states} = document.states;
	t.deepEqual(states, expected);
	t.falsy(closed);
	t.true(document.tracked <= 100, `tracked ${document.tracked}`);
	t.true(document.evicted >= sockets - 100, `evicted ${document.evicted}`);
});

