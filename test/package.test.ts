// The package as a production host gets it: `npm pack` here, then `npm install -g` of the
// tarball into a fresh prefix on a host where the compilers, the BPF toolchain and every C
// header are hidden (a mount namespace of its own), and tcptop runs from there: a prebuilt
// addon, nothing compiled. Without libbpf.so.1, it says in one line what to install.
import {execFile, execFileSync, spawn} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import type {ExecutionContext} from 'ava';
import {attached, finish} from './helpers/cli.js';
import {kernelTest} from './helpers/kernel.js';
import {alone} from './helpers/load-lock.js';
import {connectAndClose, connectOpen, listen} from './helpers/net.js';
import {terminal} from './helpers/tmux.js';
import {assertOneLineError} from './helpers/usage-errors.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A shell line that hides, in its mount namespace, what building tcptop would need: the
 * compilers and BPF tools (each bound over by /dev/null, which cannot be run) and /usr/include.
 */
const hideToolchain = [
	'for tool in clang gcc g++ cc c++ make bpftool llvm-strip; do',
	'  path=$(command -v "$tool") && mount --bind /dev/null "$(readlink -f "$path")";',
	'done;',
	'mount -t tmpfs none /usr/include',
].join(' ');

/** `command` run with the toolchain hidden (unshare execs it: the pid is the command's). */
function hidden(command: string[], alsoHide = '') {
	const child = spawn('unshare', ['-m', 'bash', '-c', `${hideToolchain}; ${alsoHide} exec "$@"`, 'hidden', ...command], {stdio: 'pipe'});
	child.stdin.end();
	return child;
}

/** The tarball `npm pack` makes, from a copy of this tree (its build is not disturbed). */
async function pack(t: ExecutionContext): Promise<string> {
	const copy = mkdtempSync(join(tmpdir(), 'tcptop-pack-'));
	t.teardown(() => {
		rmSync(copy, {recursive: true, force: true});
	});
	execFileSync('tar', ['-C', root, '--exclude=./node_modules', '--exclude=./build', '--exclude=./prebuilds', '--exclude=./dist', '--exclude=./.git', '--exclude=./scratch', '-cf', join(copy, 'tree.tar'), '.']);
	const tree = join(copy, 'tree');
	execFileSync('mkdir', [tree]);
	execFileSync('tar', ['-C', tree, '-xf', join(copy, 'tree.tar')]);
	symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'));
	// Packing builds the addon (prebuildify): CPU-heavy for a while, so not beside the full-rate
	// loads, and at the lowest priority, so the tests that run beside it keep their pace.
	await alone(async () => promisify(execFile)('nice', ['-n', '19', 'npm', 'pack', '--pack-destination', copy, '--loglevel=error'], {cwd: tree}));
	const [tarball] = readdirSync(copy).filter(name => name.endsWith('.tgz'));
	t.truthy(tarball, 'npm pack made a tarball');
	return join(copy, tarball!);
}

kernelTest('npm pack, then npm install -g on a host without compilers or headers: -b, trace and the view work from the prebuilt addon and the bundle', async t => {
	const tarball = await pack(t);
	const prefix = mkdtempSync(join(tmpdir(), 'tcptop-prefix-'));
	t.teardown(() => {
		rmSync(prefix, {recursive: true, force: true});
	});

	const install = await finish(hidden(['npm', 'install', '-g', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', prefix, tarball]));
	t.is(install.code, 0, install.stderr);
	const installed = join(prefix, 'lib', 'node_modules', 'tcptop');
	t.true(existsSync(join(installed, 'prebuilds', 'linux-x64', 'tcptop.node')), 'the prebuilt addon is in the package');
	t.false(existsSync(join(installed, 'build')), 'nothing was built at install');
	t.false(existsSync(join(installed, 'src')), 'the package carries its build, not its TypeScript');
	const tcptop = join(prefix, 'bin', 'tcptop');

	// A connection held open: -b -n 1 lists it, ESTABLISHED, from the socket walk.
	const server = await listen('127.0.0.1');
	const held = await connectOpen('127.0.0.1', server.port);
	t.teardown(async () => {
		await server.close();
	});
	const batch = await finish(hidden([tcptop, '-b', '-n', '1', '--json', 'dport', '=', `:${server.port}`]));
	t.is(batch.code, 0, batch.stderr);
	const document = JSON.parse(batch.stdout) as {connections: Array<{state: string; lport: number; rport: number}>};
	t.true(document.connections.some(row => row.state === 'ESTABLISHED' && row.lport === held.localPort && row.rport === server.port), batch.stdout);
	held.destroy();

	// A connection made while trace runs: its transitions, in order.
	const child = hidden([tcptop, 'trace', '--json', '-4', '--rport', String(server.port), '--duration', '2']);
	const traced = finish(child);
	await attached(child);
	const clientPort = await connectAndClose('127.0.0.1', server.port);
	await server.settled();
	const trace = await traced;
	t.is(trace.code, 0, trace.stderr);
	const lines = trace.stdout.trim().split('\n').map(line => JSON.parse(line) as {lport: number; oldstate: string; newstate: string});
	t.deepEqual(lines.map(line => `${line.oldstate}->${line.newstate}`), ['CLOSE->SYN_SENT', 'SYN_SENT->ESTABLISHED', 'ESTABLISHED->FIN_WAIT1', 'FIN_WAIT1->FIN_WAIT2', 'FIN_WAIT2->CLOSE']);
	t.is(lines[1]!.lport, clientPort);

	// The live view on a terminal: its first frame, from what the package bundled (Ink and React
	// are not installed beside it), then q gives the terminal back.
	const view = terminal('package');
	view.tmux('new-session', '-d', '-s', view.session, '-x', '160', '-y', '40', `unshare -m bash -c '${hideToolchain}; exec env -u CI ${tcptop}'; echo "exit status $?"; sleep 10`);
	try {
		await view.until('the first frame', () => /^tracked \d+/m.test(view.screen()) || undefined);
		view.tmux('send-keys', '-t', view.session, 'q');
		await view.until('the view to quit', () => /^exit status 0$/m.test(view.screen()) || undefined);
	} finally {
		view.tmux('kill-server');
	}

	// Without the system's libbpf.so.1: one line saying what to install.
	const libbpf = execFileSync('bash', ['-c', 'readlink -f "$(ldconfig -p | awk \'/libbpf\\.so\\.1 /{print $NF; exit}\')"'], {encoding: 'utf8'}).trim();
	t.truthy(libbpf, 'this host has libbpf.so.1');
	const withoutLibbpf = await finish(hidden([tcptop, '-b', '-n', '1'], `mount --bind /dev/null ${libbpf};`));
	t.is(withoutLibbpf.code, 1);
	t.is(withoutLibbpf.stdout, '');
	assertOneLineError(t, withoutLibbpf.stderr, /libbpf 1\.0 or later \(libbpf\.so\.1\) is needed.*install libbpf1 \(Debian, Ubuntu\)/);
});
