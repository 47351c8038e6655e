// Sustained churn, as a busy HTTP server makes it (the server closes first, so TIME_WAIT piles
// up on the listener's port): `tcptop -b -d 1` keeps printing every second and loses nothing.
// The load generator is the benchmarks' (bench/loadgen.c), at its full rate for 15 s.
import {execFile, execFileSync} from 'node:child_process';
import {once} from 'node:events';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createInterface} from 'node:readline';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {start} from './helpers/cli.js';
import {kernelTestSerial} from './helpers/kernel.js';

type Document = {uptime_s: number; interval_s: number; lost: number; new: {count: number}};

const loadgenSource = fileURLToPath(new URL('../bench/loadgen.c', import.meta.url));
const loadSeconds = 15;

kernelTestSerial(`-b -d 1 under ${loadSeconds} s of server-closes-first churn: a document every second, nothing lost`, async t => {
	const folder = mkdtempSync(join(tmpdir(), 'tcptop-soak-'));
	t.teardown(() => {
		rmSync(folder, {recursive: true, force: true});
	});
	const loadgen = join(folder, 'loadgen');
	execFileSync('cc', ['-O2', '-pthread', loadgenSource, '-o', loadgen]);

	const tcptop = start(['-b', '-d', '1', '--json']);
	t.teardown(() => tcptop.kill('SIGKILL'));
	const documents: Document[] = [];
	const lines = createInterface({input: tcptop.stdout});
	lines.on('line', line => documents.push(JSON.parse(line) as Document));
	await once(lines, 'line');

	const {stdout: load} = await promisify(execFile)(loadgen, ['single', 'graceful', String(loadSeconds)], {encoding: 'utf8'});
	const {connections} = JSON.parse(load.trim().split('\n').at(-1)!) as {connections: number};
	const startedAt = documents.length;
	while (documents.length < startedAt + 3) {
		await once(lines, 'line'); // the last closes, and a print after them
	}

	tcptop.kill('SIGTERM');
	// 'close': every document written is read by then.
	const [code] = await once(tcptop, 'close') as [number | null];
	t.is(code, 0);

	const during = documents.slice(1);
	t.true(during.length >= loadSeconds, `${during.length} documents`);
	const late = during.filter(document => document.interval_s > 2);
	t.deepEqual(late.map(document => [document.uptime_s, document.interval_s]), [], 'no print more than 2 s after the one before');
	t.is(documents.at(-1)!.lost, 0);
	// Each connection opens twice: the client's connect and the server's accepted socket.
	const opened = during.reduce((sum, document) => sum + document.new.count, 0);
	t.true(connections > 10_000, `the load made ${connections} connections`);
	t.true(opened >= 2 * connections, `${opened} opens seen for ${connections} connections`);
});
