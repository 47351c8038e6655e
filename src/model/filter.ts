// The filter language: ss(8)'s, plus pid and comm. One expression compiles once into a predicate
// over connections and one over transitions (a transition is judged by the state it enters).
//
// Grammar (keywords are case-sensitive, like ss; `a b` with nothing between means `a and b`):
//
//   filter    := [ or ] END
//   or        := and { ( "or" | "|" | "||" ) and }
//   and       := unary { [ "and" | "&" | "&&" ] unary }
//   unary     := ( "not" | "!" ) unary | primary
//   primary   := "(" or ")" | states | port | host | pid | text | netns
//   states    := ( "state" | "exclude" ) STATE { ( "state" | "exclude" ) STATE }
//                  -- one run, as ss reads it: the first `state` picks its states, a first
//                     `exclude` starts from all; later `state`s add, later `exclude`s remove
//   port      := ( "sport" | "dport" ) [ ORDER ] PORT
//   host      := ( "src" | "dst" ) [ EQUALITY ] HOST
//   pid       := "pid" [ ORDER ] NUMBER
//   text      := TEXTFIELD ( "~" | "!~" ) PATTERN | TEXTFIELD [ EQUALITY ] NAME
//   TEXTFIELD := comm | container | cgroup
//                  -- the owner's name; its container's 12-character id or systemd unit, and
//                     its control group path (empty when not known: matched by "")
//   netns     := "netns" [ EQUALITY ] ( NUMBER | NAME )
//                  -- a network namespace by its inode, or by its name in /run/netns (ip netns)
//
//   STATE     := established | syn-sent | syn-recv | fin-wait-1 | fin-wait-2 | time-wait | closed
//              | close-wait | last-ack | listening | closing
//              | all | connected | synchronized | bucket | big            (ss's groups)
//   ORDER     := EQUALITY | ">" | "<" | ">=" | "<=" | gt | lt | ge | le
//   EQUALITY  := "=" | "==" | "!=" | eq | ne
//   PORT      := [ ":" ] NUMBER | ":*" | "*"
//   HOST      := ADDR [ "/" LEN ] [ ":" PORT ] | "[" ADDR6 "]" [ "/" LEN ] [ ":" PORT ] | ":" PORT | "*"
//   PATTERN   := a JavaScript regular expression, quoted ('..' or "..") or running to the next
//                space or unbalanced ")"
//
// src/sport are the local end, dst/dport the remote end, as in ss.
import {BlockList, isIP, isIPv4} from 'node:net';
import {namedNamespaceInode} from '../capture/net-namespaces.js';
import type {Transition} from '../core/transition.js';
import {allStatesMask, stateWords, statesNamed} from '../core/tcp-states.js';

/** What a filter looks at; a Connection has exactly these. */
export type FilterSubject = {
	readonly state: number;
	readonly laddr: string;
	readonly lport: number;
	readonly raddr: string;
	readonly rport: number;
	readonly pid: number;
	readonly comm: string;
	readonly netns: number;
	/** The owner's container (or systemd unit) and control group path; '' when not known. */
	readonly container: string;
	readonly cgroup: string;
};

export type FilterOptions = {
	/** The inode of the network namespace `ip netns` names so (undefined: none). */
	readonly namespaceNamed?: (name: string) => number | undefined;
};

/** The control group of a transition's connection, as its row knows it (see Filter.matchTransition). */
export type TransitionOwner = (transition: Transition) => {readonly container: string; readonly cgroup: string} | undefined;

export type Filter = {
	readonly text: string;
	readonly matchConnection: (subject: FilterSubject) => boolean;
	/**
	 * Judges a transition by the state it enters and the task on the CPU; `owner`, when given,
	 * is asked for its connection's container and control group (only by a filter on them).
	 */
	readonly matchTransition: (transition: Transition, owner?: TransitionOwner) => boolean;
};

export type FilterError = {
	/** 0-based offset into the filter text. */
	readonly position: number;
	readonly message: string;
};

export type FilterResult = {readonly ok: true; readonly filter: Filter} | {readonly ok: false; readonly error: FilterError};

type Predicate = (subject: FilterSubject) => boolean;

export function compileFilter(text: string, options: FilterOptions = {}): FilterResult {
	try {
		const predicate = new Parser(text, options.namespaceNamed ?? namedNamespaceInode).parseFilter();
		const asSubject = new TransitionSubject();
		return {
			ok: true,
			filter: {
				text,
				matchConnection: predicate,
				matchTransition(transition, owner) {
					asSubject.transition = transition;
					asSubject.owner = owner;
					return predicate(asSubject);
				},
			},
		};
	} catch (error) {
		if (error instanceof FilterSyntaxError) {
			return {ok: false, error: {position: error.position, message: error.message}};
		}

		throw error;
	}
}

class FilterSyntaxError extends Error {
	constructor(readonly position: number, message: string) {
		super(message);
	}
}

class TransitionSubject implements FilterSubject {
	transition!: Transition;
	owner: TransitionOwner | undefined;
	get state() {
		return this.transition.newstate;
	}

	get laddr() {
		return this.transition.laddr;
	}

	get lport() {
		return this.transition.lport;
	}

	get raddr() {
		return this.transition.raddr;
	}

	get rport() {
		return this.transition.rport;
	}

	get pid() {
		return this.transition.pid;
	}

	get comm() {
		return this.transition.comm;
	}

	get netns() {
		return this.transition.netns;
	}

	// A transition carries the task on the CPU, not an owner: its connection's row may know one.
	get container() {
		return this.owner?.(this.transition)?.container ?? '';
	}

	get cgroup() {
		return this.owner?.(this.transition)?.cgroup ?? '';
	}
}

type Token = {readonly kind: 'word' | 'op' | '(' | ')' | 'string' | 'end'; readonly text: string; readonly position: number};

const operatorPattern = /^(?:&&|\|\||!=|!~|==|>=|<=|[=!<>~&|])/;
const wordPattern = /^[^\s()=!<>~&|"']+/;

type Compare = (a: number, b: number) => boolean;

const comparisons: ReadonlyMap<string, Compare> = new Map<string, Compare>([
	['=', (a, b) => a === b], ['==', (a, b) => a === b], ['eq', (a, b) => a === b],
	['!=', (a, b) => a !== b], ['ne', (a, b) => a !== b],
	['>', (a, b) => a > b], ['gt', (a, b) => a > b],
	['<', (a, b) => a < b], ['lt', (a, b) => a < b],
	['>=', (a, b) => a >= b], ['ge', (a, b) => a >= b],
	['<=', (a, b) => a <= b], ['le', (a, b) => a <= b],
]);
const equalities = new Set(['=', '==', 'eq', '!=', 'ne']);
const textFieldNames = {comm: 'a command name', container: 'a container id or unit', cgroup: 'a control group path'} as const;
const negations = new Set(['!=', 'ne']);

class Parser {
	private position = 0;

	constructor(private readonly text: string, private readonly namespaceNamed: (name: string) => number | undefined) {}

	parseFilter(): Predicate {
		if (this.peek().kind === 'end') {
			return () => true;
		}

		const predicate = this.parseOr();
		const rest = this.peek();
		if (rest.kind !== 'end') {
			this.fail(rest, rest.kind === ')' ? 'unbalanced \')\'' : 'expected \'and\', \'or\' or end of filter');
		}

		return predicate;
	}

	private parseOr(): Predicate {
		let left = this.parseAnd();
		while (this.peekIs('or', '|', '||')) {
			this.next();
			const right = this.parseAnd();
			const previous = left;
			left = subject => previous(subject) || right(subject);
		}

		return left;
	}

	private parseAnd(): Predicate {
		let left = this.parseUnary();
		for (;;) {
			if (this.peekIs('and', '&', '&&')) {
				this.next();
			} else if (!this.startsUnary()) {
				return left;
			}

			const right = this.parseUnary();
			const previous = left;
			left = subject => previous(subject) && right(subject);
		}
	}

	private startsUnary(): boolean {
		const token = this.peek();
		return token.kind === '(' || (token.kind === 'op' && token.text === '!')
			|| (token.kind === 'word' && token.text !== 'or' && token.text !== 'and');
	}

	private parseUnary(): Predicate {
		if (this.peekIs('not', '!')) {
			this.next();
			const operand = this.parseUnary();
			return subject => !operand(subject);
		}

		return this.parsePrimary();
	}

	private parsePrimary(): Predicate {
		const token = this.next();
		if (token.kind === '(') {
			const inner = this.parseOr();
			const close = this.next();
			if (close.kind !== ')') {
				this.fail(close, 'expected \')\'');
			}

			return inner;
		}

		switch (token.kind === 'word' ? token.text : '') {
			case 'state':
			case 'exclude': {
				return this.parseStates(token);
			}

			case 'sport':
			case 'dport': {
				return this.parsePort(token.text === 'sport');
			}

			case 'src':
			case 'dst': {
				return this.parseHost(token.text === 'src');
			}

			case 'pid': {
				return this.parsePid();
			}

			case 'comm':
			case 'container':
			case 'cgroup': {
				return this.parseText(token.text as keyof typeof textFieldNames);
			}

			case 'netns': {
				return this.parseNetns();
			}

			default: {
				return this.fail(token, 'expected a condition: state, exclude, sport, dport, src, dst, pid, comm, container, cgroup, netns, not or \'(\'');
			}
		}
	}

	private parseStates(first: Token): Predicate {
		let mask = first.text === 'state' ? 0 : allStatesMask;
		let keyword: Token | undefined = first;
		while (keyword) {
			const name = this.next();
			const states = name.kind === 'word' ? statesNamed(name.text) : undefined;
			if (states === undefined) {
				this.fail(name, `expected a state after '${keyword.text}' (${stateWords.join(', ')})`);
			}

			mask = keyword.text === 'state' ? mask | states : mask & ~states;
			keyword = this.peekIs('state', 'exclude') ? this.next() : undefined;
		}

		return subject => ((mask >>> subject.state) & 1) === 1;
	}

	private parsePort(local: boolean): Predicate {
		const compare = this.parseOperator(comparisons.keys());
		const token = this.next();
		const port = token.kind === 'word' ? parsePort(token.text.startsWith(':') ? token.text.slice(1) : token.text) : undefined;
		if (port === undefined) {
			this.fail(token, 'expected a port (443, :443 or *)');
		}

		if (port === 'any') {
			return () => true;
		}

		return local ? subject => compare(subject.lport, port) : subject => compare(subject.rport, port);
	}

	private parseHost(local: boolean): Predicate {
		const operator = this.peekOperator(equalities);
		const token = this.next();
		const host = token.kind === 'word' ? parseHost(token.text) : undefined;
		if (host === undefined) {
			this.fail(token, 'expected an address: 10.0.0.1, 10.0.0.0/8, [::1], 10.0.0.1:80, [::1]:443, :80 or *');
		}

		const {addresses, port} = host;
		const matches: Predicate = subject => {
			const address = local ? subject.laddr : subject.raddr;
			return (port === undefined || port === (local ? subject.lport : subject.rport))
				&& (addresses === undefined || addresses(address));
		};
		return operator !== undefined && negations.has(operator) ? subject => !matches(subject) : matches;
	}

	private parsePid(): Predicate {
		const compare = this.parseOperator(comparisons.keys());
		const token = this.next();
		if (token.kind !== 'word' || !/^\d+$/.test(token.text)) {
			this.fail(token, 'expected a process id');
		}

		const pid = Number(token.text);
		return subject => compare(subject.pid, pid);
	}

	private parseNetns(): Predicate {
		const operator = this.peekOperator(equalities);
		const token = this.next();
		if (token.kind !== 'word' && token.kind !== 'string') {
			this.fail(token, 'expected a network namespace: its inode number or its name in /run/netns');
		}

		let inode: number | undefined;
		if (/^\d+$/.test(token.text)) {
			inode = Number(token.text);
		} else {
			inode = this.namespaceNamed(token.text);
			if (inode === undefined) {
				this.failAt(token.position, `no network namespace named '${token.text}' in /run/netns`);
			}
		}

		return operator !== undefined && negations.has(operator) ? subject => subject.netns !== inode : subject => subject.netns === inode;
	}

	/** comm, container or cgroup: a regular expression, or a name as it is. */
	private parseText(field: 'comm' | 'container' | 'cgroup'): Predicate {
		// A named read per field: a keyed one is slower at every row of every frame.
		const read = field === 'comm' ? (subject: FilterSubject) => subject.comm
			: field === 'container' ? (subject: FilterSubject) => subject.container
				: (subject: FilterSubject) => subject.cgroup;
		const operator = this.peekOperator(new Set(['~', '!~', ...equalities]));
		if (operator === '~' || operator === '!~') {
			const start = this.skipSpace();
			const source = this.readPattern();
			if (source === '') {
				this.failAt(start, 'expected a regular expression after \'~\'');
			}

			let pattern: RegExp;
			try {
				pattern = new RegExp(source);
			} catch (error) {
				return this.failAt(start, `bad regular expression: ${(error as Error).message}`);
			}

			return operator === '~' ? subject => pattern.test(read(subject)) : subject => !pattern.test(read(subject));
		}

		const token = this.next();
		if (token.kind !== 'word' && token.kind !== 'string') {
			this.fail(token, `expected ${textFieldNames[field]} or '~' and a regular expression`);
		}

		const name = token.text;
		return operator !== undefined && negations.has(operator) ? subject => read(subject) !== name : subject => read(subject) === name;
	}

	private parseOperator(allowed: Iterable<string>): Compare {
		const operator = this.peekOperator(new Set(allowed)) ?? '=';
		return comparisons.get(operator)!;
	}

	/** Consumes and returns an operator from allowed, or nothing if the next token is not one. */
	private peekOperator(allowed: ReadonlySet<string>): string | undefined {
		const token = this.peek();
		if ((token.kind === 'op' || token.kind === 'word') && allowed.has(token.text)) {
			this.next();
			return token.text;
		}

		return undefined;
	}

	/** A regular expression written bare: up to whitespace or a ')' that closes an outer group. */
	private readPattern(): string {
		const quote = this.text[this.position];
		if (quote === '"' || quote === '\'') {
			return this.readString().text;
		}

		let depth = 0;
		let end = this.position;
		for (; end < this.text.length; end++) {
			const char = this.text[end]!;
			if (/\s/.test(char) || (char === ')' && depth === 0)) {
				break;
			}

			if (char === '\\') {
				end++;
			} else if (char === '(') {
				depth++;
			} else if (char === ')') {
				depth--;
			}
		}

		const pattern = this.text.slice(this.position, end);
		this.position = end;
		return pattern;
	}

	private peekIs(...texts: string[]): boolean {
		const token = this.peek();
		return (token.kind === 'word' || token.kind === 'op') && texts.includes(token.text);
	}

	private peek(): Token {
		const saved = this.position;
		const token = this.next();
		this.position = saved;
		return token;
	}

	private next(): Token {
		const position = this.skipSpace();
		const rest = this.text.slice(position);
		if (rest === '') {
			return {kind: 'end', text: '', position};
		}

		const char = rest[0]!;
		if (char === '(' || char === ')') {
			this.position++;
			return {kind: char, text: char, position};
		}

		if (char === '"' || char === '\'') {
			return this.readString();
		}

		const operator = operatorPattern.exec(rest)?.[0];
		const text = operator ?? wordPattern.exec(rest)![0];
		this.position += text.length;
		return {kind: operator === undefined ? 'word' : 'op', text, position};
	}

	private readString(): Token {
		const position = this.position;
		const quote = this.text[position]!;
		const end = this.text.indexOf(quote, position + 1);
		if (end === -1) {
			this.failAt(position, `unterminated string: expected a closing ${quote}`);
		}

		this.position = end + 1;
		return {kind: 'string', text: this.text.slice(position + 1, end), position};
	}

	private skipSpace(): number {
		while (this.position < this.text.length && /\s/.test(this.text[this.position]!)) {
			this.position++;
		}

		return this.position;
	}

	private fail(token: Token, expected: string): never {
		const found = token.kind === 'end' ? 'end of filter' : `'${token.text}'`;
		return this.failAt(token.position, `${expected}; found ${found}`);
	}

	private failAt(position: number, message: string): never {
		throw new FilterSyntaxError(position, message);
	}
}

function parsePort(text: string): number | 'any' | undefined {
	if (text === '*') {
		return 'any';
	}

	if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
		return undefined;
	}

	return Number(text);
}

/** A dotted IPv4 address as an unsigned number, or -1 for anything else. */
export function ipv4Number(text: string): number {
	let value = 0;
	let part = 0;
	let digits = 0;
	let dots = 0;
	for (let index = 0; index < text.length; index++) {
		const code = text.charCodeAt(index);
		if (code >= 48 && code <= 57) {
			part = (part * 10) + code - 48;
			if (++digits > 3 || part > 255) {
				return -1;
			}
		} else if (code === 46 && digits > 0 && dots < 3) {
			value = (value * 256) + part;
			part = 0;
			digits = 0;
			dots++;
		} else {
			return -1;
		}
	}

	return dots === 3 && digits > 0 ? (value * 256) + part : -1;
}

type Host = {readonly addresses: ((address: string) => boolean) | undefined; readonly port: number | undefined};

function parseHost(text: string): Host | undefined {
	if (text === '*') {
		return {addresses: undefined, port: undefined};
	}

	let address: string;
	let rest: string;
	if (text.startsWith('[')) {
		const close = text.indexOf(']');
		if (close === -1) {
			return undefined;
		}

		address = text.slice(1, close);
		rest = text.slice(close + 1);
	} else {
		// Without brackets a port can only follow an IPv4 address (or stand alone, ":80").
		const colon = text.indexOf(':');
		const head = colon === -1 ? text : text.slice(0, colon);
		const isV4Head = colon !== -1 && ((colon === 0 && /^:(?:\d+|\*)$/.test(text)) || isIPv4(head.split('/')[0]!));
		address = isV4Head ? head : text;
		rest = isV4Head ? text.slice(colon) : '';
	}

	let prefix: string | undefined;
	const slash = address.indexOf('/');
	if (slash !== -1) {
		prefix = address.slice(slash + 1);
		address = address.slice(0, slash);
	}

	const prefixMatch = /^\/(\d{1,3})/.exec(rest);
	if (prefixMatch && prefix === undefined) {
		prefix = prefixMatch[1];
		rest = rest.slice(prefixMatch[0].length);
	}

	let port: number | undefined;
	if (rest !== '') {
		const parsed = rest.startsWith(':') ? parsePort(rest.slice(1)) : undefined;
		if (parsed === undefined) {
			return undefined;
		}

		port = parsed === 'any' ? undefined : parsed;
	}

	if (address === '' || address === '*') {
		return prefix === undefined ? {addresses: undefined, port} : undefined;
	}

	const version = isIP(address);
	if (version === 0) {
		return undefined;
	}

	let length = version === 4 ? 32 : 128;
	if (prefix !== undefined) {
		length = Number(prefix);
		if (!/^\d+$/.test(prefix) || length > (version === 4 ? 32 : 128)) {
			return undefined;
		}
	}

	const family = version === 4 ? 'ipv4' : 'ipv6';
	const list = new BlockList();
	list.addSubnet(address, length, family);
	const check = (text: string) => list.check(text, text.includes(':') ? 'ipv6' : 'ipv4');
	if (version === 6) {
		return {addresses: check, port};
	}

	// An IPv4 rule against a dotted address, the usual case, by arithmetic: BlockList.check
	// parses the address on every call, which made a filter on addresses cost a frame of
	// 100,000 connections ~15 ms. Other forms (IPv4-mapped IPv6) go to the BlockList.
	const shift = 32 - length;
	const network = length === 0 ? 0 : ipv4Number(address) >>> shift;
	const addresses = (text: string) => {
		const value = ipv4Number(text);
		if (value < 0) {
			return check(text);
		}

		return length === 0 || value >>> shift === network;
	};
	return {addresses, port};
}
