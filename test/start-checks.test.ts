// What tcptop checks before it loads anything (README: What tcptop checks at start): each
// failure is one line on stderr saying what to do, and exit 1. The conditions are made for
// real: an old kernel with setarch --uname-2.6 (uname(2) then reports a 2.6 release), no
// privileges with setpriv, no BTF and no tracefs in a mount namespace of the test's own (its
// mounts are private: the host's stay as they are).
import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import test, {type ExecutionContext} from 'ava';
import {asNobody, finish, run, start, tcptop} from './helpers/cli.js';
import {terminal} from './helpers/tmux.js';
import {assertOneLineError} from './helpers/usage-errors.js';

const root = join(tcptop, '..', '..');

const rootTest = process.getuid?.() === 0 ? test : test.skip;
if (process.getuid?.() !== 0) {
	console.warn('Skipping the BTF and tracefs start checks: hiding them in a mount namespace needs root.');
}

const oldKernel = ['setarch', '--uname-2.6'];
const oldKernelLine = /^tcptop: capturing needs Linux 5\.11 or later \(this kernel is 2\.6\.\d+[^)\s]*\): boot a newer kernel\n$/;

for (const args of [['trace', '--duration', '1'], ['-b', '-n', '1'], ['-b', '--json', '-n', '1']]) {
	test(`a kernel older than 5.11: tcptop ${args.join(' ')} says so in one line, exit 1`, async t => {
		const {code, stdout, stderr} = await run(args, {prefix: oldKernel});
		t.is(code, 1);
		t.is(stdout, '');
		assertOneLineError(t, stderr, oldKernelLine);
	});
}

test('a kernel older than 5.11 is named before missing privileges, which would not help', async t => {
	const {code, stderr} = await run(['trace'], {prefix: [...oldKernel, ...asNobody]});
	t.is(code, 1);
	assertOneLineError(t, stderr, oldKernelLine);
});

test('a kernel older than 5.11 in the live view: the line, exit 1, and the terminal as it was', async t => {
	const {tmux, screen, until, session} = terminal('old-kernel');
	t.teardown(() => {
		try {
			tmux('kill-server');
		} catch {
			// Already gone.
		}
	});
	tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '20', 'sh');
	tmux('send-keys', '-t', session, '-l', `${oldKernel.join(' ')} ${process.execPath} ${tcptop}; echo "tcptop exited with $?"`);
	tmux('send-keys', '-t', session, 'Enter');
	const shown = await until('tcptop to exit', () => (/^tcptop exited with \d+$/m.test(screen()) ? screen() : undefined));
	const lines = shown.split('\n');
	const exited = lines.findIndex(line => line.startsWith('tcptop exited with'));
	t.regex(`${lines[exited - 1]!}\n`, oldKernelLine, shown);
	t.is(lines[exited], 'tcptop exited with 1');
	t.is(tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag}').trim(), '0 1', 'main screen, cursor shown');
	// The shell behind it reads and echoes a command as before: raw mode was never turned on.
	tmux('send-keys', '-t', session, '-l', 'echo "six times seven is $((6*7))"');
	tmux('send-keys', '-t', session, 'Enter');
	const answered = await until('the shell to answer', () => (screen().includes('six times seven is 42') ? screen() : undefined));
	t.regex(answered, /six times seven is 42/);
});

test('without privileges: one line saying what to do, exit 1', async t => {
	const {code, stdout, stderr} = await run(['trace'], {prefix: asNobody});
	t.is(code, 1);
	t.is(stdout, '');
	// Said before anything is tried (the kernel's own refusal of the load reads otherwise).
	assertOneLineError(t, stderr, /^tcptop: loading the BPF program needs privileges: run as root, or grant CAP_BPF and CAP_PERFMON\n$/);
});

/** `sh -c SCRIPT` in a mount namespace of its own, the command line following it as "$@". */
function inMountNamespace(script: string): string[] {
	return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh'];
}

const withoutBtf = inMountNamespace('mount -t tmpfs none /sys/kernel/btf && exec "$@"');
const noBtfLine = /^tcptop: this kernel exposes no BTF \(\/sys\/kernel\/btf\/vmlinux\): boot a kernel built with CONFIG_DEBUG_INFO_BTF=y\n$/;

rootTest('a kernel without BTF: one line saying what to do, exit 1', async t => {
	const {code, stdout, stderr} = await run(['-b', '-n', '1'], {prefix: withoutBtf});
	t.is(code, 1);
	t.is(stdout, '');
	assertOneLineError(t, stderr, noBtfLine);
});

rootTest('a kernel without BTF is named before missing privileges, which would not help', async t => {
	const {code, stderr} = await run(['trace'], {prefix: [...withoutBtf, ...asNobody]});
	t.is(code, 1);
	assertOneLineError(t, stderr, noBtfLine);
});

/**
 * Unmounts tracefs (and debugfs, whose tracing folder mounts it on access) in the namespace,
 * runs the command, then says on stderr whether tracefs is left mounted.
 */
const withoutTracefs = inMountNamespace(`
	umount -R /sys/kernel/tracing /sys/kernel/debug 2>/dev/null
	if grep -q -e ' /sys/kernel/tracing ' -e ' /sys/kernel/debug ' /proc/self/mountinfo; then
		echo 'test set-up: tracefs or debugfs still mounted' >&2
		exit 99
	fi
	"$@"
	status=$?
	if grep -q ' /sys/kernel/tracing ' /proc/self/mountinfo; then
		echo 'tracefs left mounted' >&2
	fi
	exit $status`);

/** The process the shell `child` started tcptop in; undefined if the shell ended first. */
async function tcptopUnder(child: ChildProcess): Promise<number | undefined> {
	while (child.exitCode === null) {
		for (const entry of readdirSync('/proc').filter(name => /^\d+$/.test(name))) {
			try {
				const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
				// The fields after the command name, which is in parentheses: state, then ppid.
				const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
				if (parent === child.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(tcptop)) {
					return Number(entry);
				}
			} catch {
				// Gone meanwhile.
			}
		}

		await new Promise(resolve => setTimeout(resolve, 20));
	}

	return undefined;
}

/** bpftool perf show runs that failed or were cut off (said when the links were not seen). */
let bpftoolFailures = 0;
/** What bpftool listed for tcptop's process, for a failure's message: each run's hook names. */
const listedForTcptop: string[] = [];

/**
 * The accept() and accept4() exits a process has BPF programs on (bpftool perf show): libbpf
 * attaches a classic tracepoint through a perf event, with a BPF link where the kernel can, else
 * with the perf event's ioctl (no link to count), and bpftool lists both.
 */
function acceptExitsTracedBy(pid: number): number {
	let output: string;
	try {
		output = execFileSync('bpftool', ['-j', 'perf', 'show'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']});
	} catch (error) {
		// A process gone while bpftool read it: what it did list stands.
		bpftoolFailures++;
		output = (error as {stdout?: string}).stdout ?? '[]';
	}

	let entries: Array<{pid?: number; tracepoint?: string}>;
	try {
		entries = JSON.parse(output || '[]') as typeof entries;
	} catch {
		// Cut off mid-way: try again.
		bpftoolFailures++;
		return 0;
	}

	const ours = entries.filter(entry => entry.pid === pid);
	listedForTcptop.push(`${ours.length}${ours.some(entry => entry.tracepoint?.startsWith('sys_exit_accept')) ? '+accept' : ''}`);
	return ours.filter(entry => entry.tracepoint === 'sys_exit_accept' || entry.tracepoint === 'sys_exit_accept4').length;
}

rootTest('--accept-owners on a host without tracefs: tcptop mounts it for its run, traces accept() and unmounts it', async t => {
	// Ten seconds to see them in: on a machine busy with the whole suite, bpftool perf show can fail
	// while processes come and go.
	const child = start(['-b', '-d', '1', '-n', '10', '--accept-owners'], {prefix: withoutTracefs});
	const finished = finish(child);
	const tcptopPid = await tcptopUnder(child);
	let links = 0;
	while (tcptopPid !== undefined && child.exitCode === null && links < 2) {
		links = acceptExitsTracedBy(tcptopPid);
		await new Promise(resolve => setTimeout(resolve, 20));
	}

	const {code, stderr} = await finished;
	t.is(stderr, '', 'no complaint, and tracefs not left mounted');
	t.is(code, 0);
	t.is(links, 2, `the exits of accept() and accept4() attached (tcptop ${tcptopPid === undefined ? 'not found running' : `pid ${tcptopPid}`}; bpftool failed ${bpftoolFailures} times; hooks it listed for that pid, run by run: ${listedForTcptop.slice(-40).join(' ')})`);
});

rootTest('--accept-owners where tracefs cannot be mounted: one line saying what to do, exit 1; without it tcptop runs', async t => {
	const withoutSysAdmin = [...withoutTracefs, 'setpriv', '--inh-caps=-sys_admin', '--bounding-set=-sys_admin'];
	const plain = await run(['-b', '-n', '1'], {prefix: withoutSysAdmin});
	t.is(plain.stderr, '');
	t.is(plain.code, 0, 'the state changes need no tracefs');

	const {code, stdout, stderr} = await run(['-b', '-n', '1', '--accept-owners'], {prefix: withoutSysAdmin});
	t.is(code, 1);
	t.is(stdout, '');
	assertOneLineError(t, stderr, /^tcptop: --accept-owners needs tracefs, which is not mounted and could not be \(Operation not permitted\): mount -t tracefs nodev \/sys\/kernel\/tracing, or run without --accept-owners\n$/);
});

/**
 * A fresh checkout as far as bin/tcptop can tell (src/ there, nothing built), sharing this
 * one's node_modules; removed when the test ends.
 */
function freshCheckout(t: ExecutionContext): string {
	const folder = mkdtempSync(join(tmpdir(), 'tcptop-fresh-'));
	t.teardown(() => {
		rmSync(folder, {recursive: true, force: true});
	});
	for (const file of ['bin/tcptop', 'scripts/setup.sh']) {
		mkdirSync(join(folder, file, '..'), {recursive: true});
		copyFileSync(join(root, file), join(folder, file));
	}

	mkdirSync(join(folder, 'src'));
	symlinkSync(join(root, 'node_modules'), join(folder, 'node_modules'));
	return folder;
}

/** Runs `prefix node FOLDER/bin/tcptop -b -n 1`: on a fresh checkout, the set-up first. */
async function firstRun(folder: string, prefix: string[]): Promise<{code: number | null; stderr: string}> {
	const [command, ...rest] = [...prefix, process.execPath, join(folder, 'bin/tcptop'), '-b', '-n', '1'];
	const child = spawn(command, rest, {stdio: ['ignore', 'ignore', 'pipe']});
	let stderr = '';
	child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
		stderr += chunk;
	});
	const code = await new Promise<number | null>(resolve => {
		child.on('close', resolve);
	});
	return {code, stderr};
}

// The set-up builds the BPF program against the running kernel's BTF: it checks the kernel
// before it installs or builds anything, and says the same lines.
test('a fresh checkout on a kernel older than 5.11: the set-up says so in one line before anything else, exit 1', async t => {
	const {code, stderr} = await firstRun(freshCheckout(t), oldKernel);
	t.is(code, 1);
	assertOneLineError(t, stderr, oldKernelLine);
});

rootTest('a fresh checkout on a kernel without BTF: the set-up says so in one line before anything else, exit 1', async t => {
	const {code, stderr} = await firstRun(freshCheckout(t), withoutBtf);
	t.is(code, 1);
	assertOneLineError(t, stderr, noBtfLine);
});
