// A strict reader of Prometheus's text exposition format (version 0.0.4), so tests check
// that what tcptop serves would be accepted by a scraper, not just that one line looks right.
// It throws on the first line that breaks the format, naming the line.
//
// What it enforces: every line is blank, a comment, `# HELP name text`, `# TYPE name type`
// or a sample `name[{label="value",...}] value [timestamp]`; names and label names are
// valid; label values are quoted with only \\, \" and \n escaped; values are floats (or
// NaN and Inf, in any case, as Prometheus reads them); a family's TYPE comes once, before
// its samples; a family's samples are one group; no series appears twice; counters are
// never negative.

export type Sample = {readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly value: number};
export type Family = {type: string; help: string | undefined; samples: Sample[]};

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const suffixes: Record<string, readonly string[]> = {histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count']};

export function parseExposition(text: string): Map<string, Family> {
	if (text !== '' && !text.endsWith('\n')) {
		throw new Error('the exposition does not end with a newline');
	}

	const families = new Map<string, Family>();
	const series = new Set<string>();
	const finished = new Set<string>();
	let current: string | undefined;
	const family = (name: string) => {
		let found = families.get(name);
		if (!found) {
			found = {type: 'untyped', help: undefined, samples: []};
			families.set(name, found);
		}

		return found;
	};

	const lines = text.split('\n').slice(0, -1);
	for (const [index, line] of lines.entries()) {
		const fail = (why: string) => new Error(`line ${index + 1}: ${why}: ${JSON.stringify(line)}`);
		if (line.trim() === '') {
			continue;
		}

		if (line.startsWith('#')) {
			const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
			if (!match) {
				continue; // A plain comment.
			}

			const [, keyword, name, rest] = match;
			if (!metricName.test(name!)) {
				throw fail('bad metric name');
			}

			const target = family(name!);
			if (keyword === 'HELP') {
				if (target.help !== undefined) {
					throw fail('second HELP');
				}

				target.help = unescape(rest ?? '', false, fail);
			} else {
				if (!types.has(rest ?? '') || target.samples.length > 0 || families.get(name!)!.type !== 'untyped') {
					throw fail('bad, repeated or late TYPE');
				}

				target.type = rest!;
			}

			continue;
		}

		const sample = parseSample(line, fail);
		const owner = ownerOf(sample.name, families);
		if (current !== owner) {
			if (finished.has(owner)) {
				throw fail(`samples of ${owner} are not one group`);
			}

			if (current !== undefined) {
				finished.add(current);
			}

			current = owner;
		}

		const key = `${sample.name}{${Object.entries(sample.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
		if (series.has(key)) {
			throw fail('the same series twice');
		}

		series.add(key);
		const target = family(owner);
		if (target.type === 'counter' && !(sample.value >= 0)) {
			throw fail('a counter below zero');
		}

		target.samples.push(sample);
	}

	return families;
}

/** The family a sample belongs to: its own name, or a histogram's or summary's base name. */
function ownerOf(name: string, families: Map<string, Family>): string {
	for (const [base, family] of families) {
		if (name !== base && name.startsWith(base) && (suffixes[family.type] ?? []).includes(name.slice(base.length))) {
			return base;
		}
	}

	return name;
}

function parseSample(line: string, fail: (why: string) => Error): Sample {
	const name = /^[^\s{]+/.exec(line)?.[0] ?? '';
	if (!metricName.test(name)) {
		throw fail('bad metric name');
	}

	let at = name.length;
	const labels: Record<string, string> = {};
	if (line[at] === '{') {
		at++;
		while (line[at] !== '}') {
			const label = /^([^=\s]+)="/.exec(line.slice(at));
			if (!label || !labelName.test(label[1]!) || Object.hasOwn(labels, label[1]!)) {
				throw fail('bad or repeated label');
			}

			at += label[0].length;
			let raw = '';
			while (line[at] !== '"') {
				if (at >= line.length) {
					throw fail('unterminated label value');
				}

				raw += line[at] === '\\' ? line[at++]! + (line[at++] ?? '') : line[at++];
			}

			labels[label[1]!] = unescape(raw, true, fail);
			at++;
			if (line[at] === ',') {
				at++;
			} else if (line[at] !== '}') {
				throw fail('expected , or } after a label');
			}
		}

		at++;
	}

	const rest = line.slice(at);
	const match = /^ +(\S+)(?: +(-?\d+))?$/.exec(rest);
	if (!match) {
		throw fail('expected a value (and an optional timestamp)');
	}

	return {name, labels, value: parseValue(match[1]!, fail)};
}

function parseValue(text: string, fail: (why: string) => Error): number {
	// Prometheus reads values with Go's ParseFloat, which takes NaN and Inf in any case.
	const special = /^([-+]?)(nan|inf|infinity)$/i.exec(text);
	if (special) {
		return special[2]!.toLowerCase() === 'nan' ? Number.NaN : (special[1] === '-' ? -1 : 1) * Number.POSITIVE_INFINITY;
	}

	if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
		throw fail(`'${text}' is not a number`);
	}

	return Number(text);
}

/** HELP text escapes \\ and \n; label values also \". Any other escape is an error. */
function unescape(text: string, quotes: boolean, fail: (why: string) => Error): string {
	return text.replaceAll(/\\(.?)/g, (_, character: string) => {
		if (character === '\\') {
			return '\\';
		}

		if (character === 'n') {
			return '\n';
		}

		if (character === '"' && quotes) {
			return '"';
		}

		throw fail(`bad escape \\${character}`);
	});
}
