import {BlockList} from 'node:net';
import test from 'ava';
import {TcpState, type Transition} from '../src/core/transition.js';
import {compileFilter, ipv4Number, type Filter, type FilterSubject} from '../src/model/filter.js';

const {ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING} = TcpState;

const web: FilterSubject = {state: ESTABLISHED, laddr: '10.1.2.3', lport: 51_000, raddr: '93.184.216.34', rport: 443, pid: 812, comm: 'nginx', netns: 4_026_531_840, container: 'nginx.service', cgroup: '/system.slice/nginx.service'};
const ssh: FilterSubject = {state: LISTEN, laddr: '0.0.0.0', lport: 22, raddr: '0.0.0.0', rport: 0, pid: 1, comm: 'sshd', netns: 4_026_531_840, container: '', cgroup: ''};
const local6: FilterSubject = {state: TIME_WAIT, laddr: '::1', lport: 8080, raddr: '::1', rport: 40_000, pid: 0, comm: '', netns: 4_026_531_840, container: '', cgroup: ''};
const mapped: FilterSubject = {state: CLOSE_WAIT, laddr: '::ffff:10.9.8.7', lport: 3306, raddr: '::ffff:192.168.1.5', rport: 60_000, pid: 44, comm: 'mysqld', netns: 4_026_532_300, container: '3f2a1b2c3d4e', cgroup: '/system.slice/docker-3f2a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8.scope'};

function compiled(text: string): Filter {
	const result = compileFilter(text);
	if (!result.ok) {
		throw new Error(`${text}: ${result.error.message} at ${result.error.position}`);
	}

	return result.filter;
}

function matching(text: string, subjects: FilterSubject[] = [web, ssh, local6, mapped]): string[] {
	const filter = compiled(text);
	return subjects.filter(subject => filter.matchConnection(subject)).map(subject => subject.comm || subject.laddr);
}

test('IPv4 prefixes match as node:net BlockList does, at every prefix length and around each edge', t => {
	let seed = 7;
	const random = () => {
		seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
		return seed;
	};

	const dotted = (value: number) => [24, 16, 8, 0].map(shift => (value >>> shift) & 255).join('.');
	let mismatches = 0;
	for (let length = 0; length <= 32; length++) {
		const network = ((random() * 2) + (random() & 1)) >>> 0;
		const rule = `${dotted(network)}/${length}`;
		const list = new BlockList();
		list.addSubnet(dotted(network), length, 'ipv4');
		const filter = compiled(`dst ${rule}`);
		// The network's first and last addresses, one either side, and random ones.
		const span = length === 0 ? 2 ** 32 : 2 ** (32 - length);
		const first = Math.floor(network / span) * span;
		const candidates = [first, first + span - 1, first - 1, first + span, network, random(), random() * 2];
		for (const value of candidates.filter(value => value >= 0 && value < 2 ** 32)) {
			const raddr = dotted(value);
			if (filter.matchConnection({...web, raddr}) !== list.check(raddr, 'ipv4')) {
				mismatches++;
				t.log(`${rule} and ${raddr}`);
			}
		}
	}

	t.is(mismatches, 0);
	t.is(ipv4Number('255.255.255.255'), (2 ** 32) - 1);
	for (const text of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '1.2.3.', '::1', '1.2.3.4 ', '', '1234.1.1.1']) {
		t.is(ipv4Number(text), -1, text);
	}
});

test('an empty filter matches everything', t => {
	t.deepEqual(matching(''), ['nginx', 'sshd', '::1', 'mysqld']);
	t.deepEqual(matching('   '), ['nginx', 'sshd', '::1', 'mysqld']);
});

test('state names and runs follow ss: state adds, exclude removes, a first exclude starts from all', t => {
	t.deepEqual(matching('state established'), ['nginx']);
	t.deepEqual(matching('state established state listening'), ['nginx', 'sshd']);
	t.deepEqual(matching('exclude time-wait'), ['nginx', 'sshd', 'mysqld']);
	t.deepEqual(matching('state all exclude listening exclude close-wait'), ['nginx', '::1']);
});

test('state groups are ss\'s', t => {
	const all = [ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING];
	const inGroup = (group: string) => {
		const filter = compiled(`state ${group}`);
		return all.filter(state => filter.matchConnection({...web, state}));
	};

	t.deepEqual(inGroup('all'), all);
	t.deepEqual(inGroup('connected'), all.filter(state => state !== LISTEN && state !== CLOSE));
	t.deepEqual(inGroup('synchronized'), all.filter(state => state !== LISTEN && state !== CLOSE && state !== SYN_SENT));
	t.deepEqual(inGroup('bucket'), [SYN_RECV, TIME_WAIT]);
	t.deepEqual(inGroup('big'), all.filter(state => state !== SYN_RECV && state !== TIME_WAIT));
	for (const [name, state] of [['syn-sent', SYN_SENT], ['syn-recv', SYN_RECV], ['fin-wait-1', FIN_WAIT1], ['fin-wait-2', FIN_WAIT2],
		['closed', CLOSE], ['last-ack', LAST_ACK], ['closing', CLOSING]] as const) {
		t.deepEqual(inGroup(name), [state], name);
	}
});

test('port comparisons take every ss operator, with or without the colon', t => {
	const ports = (text: string) => [1023, 1024, 1025].filter(rport => compiled(text).matchConnection({...web, rport}));
	for (const [operators, expected] of [
		[['=', '==', 'eq'], [1024]],
		[['!=', 'ne'], [1023, 1025]],
		[['>', 'gt'], [1025]],
		[['<', 'lt'], [1023]],
		[['>=', 'ge'], [1024, 1025]],
		[['<=', 'le'], [1023, 1024]],
	] as const) {
		for (const operator of operators) {
			t.deepEqual(ports(`dport ${operator} :1024`), expected, operator);
			t.deepEqual(ports(`dport ${operator} 1024`), expected, `${operator} without colon`);
		}
	}

	t.deepEqual(matching('dport = :443'), ['nginx']);
	t.deepEqual(matching('sport >= :1024'), ['nginx', '::1', 'mysqld']);
	t.deepEqual(matching('sport=:22'), ['sshd'], 'operators need no spaces');
	t.deepEqual(matching('dport *'), ['nginx', 'sshd', '::1', 'mysqld']);
});

test('src and dst take addresses, CIDR prefixes, bracketed IPv6 and ports', t => {
	t.deepEqual(matching('dst 93.184.216.0/24'), ['nginx']);
	t.deepEqual(matching('src 10.0.0.0/8'), ['nginx', 'mysqld'], 'IPv4-mapped IPv6 addresses match IPv4 prefixes');
	t.deepEqual(matching('src [::1]'), ['::1']);
	t.deepEqual(matching('src ::1'), ['::1']);
	t.deepEqual(matching('src [::1]:8080'), ['::1']);
	t.deepEqual(matching('src [::1]:8081'), []);
	t.deepEqual(matching('src [::]/127'), ['::1']);
	t.deepEqual(matching('src ::ffff:10.0.0.0/104'), ['nginx', 'mysqld'], 'an IPv4-mapped prefix matches IPv4 addresses too');
	t.deepEqual(matching('src 10.1.2.3:51000'), ['nginx']);
	t.deepEqual(matching('src 10.1.2.3:22'), []);
	t.deepEqual(matching('dst :443'), ['nginx']);
	t.deepEqual(matching('dst != 93.184.216.34'), ['sshd', '::1', 'mysqld']);
	t.deepEqual(matching('dst *'), ['nginx', 'sshd', '::1', 'mysqld']);
});

test('pid and comm', t => {
	t.deepEqual(matching('pid = 812'), ['nginx']);
	t.deepEqual(matching('pid > 1'), ['nginx', 'mysqld']);
	t.deepEqual(matching('comm ~ ^(ngin|ssh)'), ['nginx', 'sshd'], 'a bare pattern may hold parentheses and |');
	t.deepEqual(matching('comm ~ "d$"'), ['sshd', 'mysqld']);
	t.deepEqual(matching('comm !~ d$'), ['nginx', '::1']);
	t.deepEqual(matching('comm = sshd'), ['sshd']);
	t.deepEqual(matching('comm != sshd'), ['nginx', '::1', 'mysqld']);
	t.deepEqual(matching('(comm ~ ngin)'), ['nginx'], 'a bare pattern ends at an unbalanced )');
});

test('netns takes an inode or a name ip netns gave it', t => {
	t.deepEqual(matching('netns 4026532300'), ['mysqld']);
	t.deepEqual(matching('netns != 4026532300'), ['nginx', 'sshd', '::1']);
	const named = (text: string) => compileFilter(text, {namespaceNamed: name => name === 'db' ? 4_026_532_300 : undefined});
	const filter = named('netns = db and state close-wait');
	t.true(filter.ok && filter.filter.matchConnection(mapped));
	t.true(filter.ok && !filter.filter.matchConnection(web));
	t.like(named('netns web'), {ok: false, error: {position: 6, message: 'no network namespace named \'web\' in /run/netns'}});
	t.like(compileFilter('netns ../x'), {ok: false, error: {position: 6}}, 'a path is no name');
	t.like(compileFilter('netns'), {ok: false, error: {position: 5}});
});

test('container and cgroup match the owner\'s, as comm does; an unknown one is empty', t => {
	t.deepEqual(matching('container ~ ^3f2a'), ['mysqld']);
	t.deepEqual(matching('container = nginx.service'), ['nginx']);
	t.deepEqual(matching('container != nginx.service'), ['sshd', '::1', 'mysqld']);
	t.deepEqual(matching('cgroup ~ ^/system\\.slice/docker-'), ['mysqld']);
	t.deepEqual(matching('cgroup !~ docker'), ['nginx', 'sshd', '::1']);
	t.deepEqual(matching('container = ""'), ['sshd', '::1'], 'not known: matched by ""');
	t.like(compileFilter('container ='), {ok: false, error: {position: 11, message: 'expected a container id or unit or \'~\' and a regular expression; found end of filter'}});
});

test('not binds tighter than and, and tighter than or; juxtaposition is and', t => {
	t.deepEqual(matching('state listening or state established and dport = :80'), ['sshd']);
	t.deepEqual(matching('(state listening or state established) and dport = :443'), ['nginx']);
	t.deepEqual(matching('not state listening and not pid = 0'), ['nginx', 'mysqld']);
	t.deepEqual(matching('! (state listening or pid = 0)'), ['nginx', 'mysqld']);
	t.deepEqual(matching('state established dport = :443'), ['nginx']);
	t.deepEqual(matching('sport = :22 | dport = :443 & pid = 1'), ['sshd']);
	t.deepEqual(matching('sport = :22 || dport = :443 && pid = 812'), ['nginx', 'sshd']);
	t.deepEqual(matching('dport = :443 exclude time-wait'), ['nginx'], 'a state run after an expression narrows it');
});

test('transitions are judged by the state they enter and the task that was on the CPU', t => {
	const transition: Transition = {
		monoMs: 0, wallMs: 0, sock: 1, netns: 1, pid: 55, tid: 55, comm: 'curl', family: 4,
		laddr: '10.0.0.1', lport: 40_000, raddr: '10.0.0.2', rport: 443, oldstate: SYN_SENT, newstate: ESTABLISHED, ms: 1,
	};
	const filter = compiled('state established and dport = :443 and comm ~ curl');
	t.true(filter.matchTransition(transition));
	t.false(filter.matchTransition({...transition, oldstate: ESTABLISHED, newstate: FIN_WAIT1}));
	t.false(compiled('state syn-sent').matchTransition(transition));
	t.true(compiled('pid = 55 and src 10.0.0.0/8').matchTransition(transition));
	// Container and cgroup are the connection's, as its row knows them, when asked for.
	let asked = 0;
	const owner = () => {
		asked++;
		return {container: '3f2a1b2c3d4e', cgroup: '/system.slice/docker-3f2a.scope'};
	};
	t.true(compiled('container ~ ^3f2a').matchTransition(transition, owner));
	t.false(compiled('container ~ ^3f2a').matchTransition(transition), 'no row to ask: not known');
	t.true(compiled('cgroup ~ docker and state established').matchTransition(transition, owner));
	const before = asked;
	t.true(compiled('state established').matchTransition(transition, owner));
	t.is(asked, before, 'a filter without container or cgroup asks nothing');
});

test('errors name the position and what was expected', t => {
	const error = (text: string) => {
		const result = compileFilter(text);
		return result.ok ? undefined : result.error;
	};

	t.deepEqual(error('state establishd'), {
		position: 6,
		message: 'expected a state after \'state\' (established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, closed, close-wait, last-ack, listening, closing, all, connected, synchronized, bucket, big); found \'establishd\'',
	});
	t.like(error('dport = :http'), {position: 8, message: 'expected a port (443, :443 or *); found \':http\''});
	t.like(error('dport = :70000'), {position: 8});
	t.like(error('dport ='), {position: 7, message: 'expected a port (443, :443 or *); found end of filter'});
	t.like(error('(state established'), {position: 18, message: 'expected \')\'; found end of filter'});
	t.like(error('state established)'), {position: 17, message: 'unbalanced \')\'; found \')\''});
	t.like(error('dst 10.0.0.0/33'), {position: 4});
	t.like(error('dst 300.1.1.1'), {position: 4});
	t.like(error('dst [::1'), {position: 4});
	t.like(error('pid = x'), {position: 6, message: 'expected a process id; found \'x\''});
	t.like(error('comm ~ ('), {position: 7});
	t.true(error('comm ~ (')!.message.startsWith('bad regular expression'));
	t.like(error('comm ~ "abc'), {position: 7, message: 'unterminated string: expected a closing "'});
	t.like(error('port = 5'), {position: 0});
	t.like(error('state established or'), {position: 20});
	t.like(error('sport = :1 = 2'), {position: 11});
	t.like(error('not'), {position: 3});
});
