#!/usr/bin/env node
// Checks that src/ depends only downward and has no import cycle. The layers, lowest first:
//   core < capture < model < ui | output < cli (src/cli.ts)
// A file may import from its own layer or one below; ui and output never import each other.
// Exits 1 and names each offending import or cycle; prints nothing when the code is clean.
import {readdirSync, readFileSync, existsSync} from 'node:fs';
import {dirname, join, normalize, relative} from 'node:path';
import {fileURLToPath} from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rank = {core: 0, capture: 1, model: 2, ui: 3, output: 3, cli: 4};

function sources(directory) {
	return readdirSync(directory, {withFileTypes: true}).flatMap(entry => {
		const path = join(directory, entry.name);
		if (entry.isDirectory()) {
			return sources(path);
		}

		return /\.tsx?$/.test(entry.name) ? [path] : [];
	});
}

function layerOf(file) {
	const [top, ...rest] = relative(join(root, 'src'), file).split('/');
	return rest.length === 0 ? 'cli' : top;
}

/** Every relative import or re-export of a file (static and dynamic), as source paths. */
function importsOf(file) {
	const text = readFileSync(file, 'utf8');
	const found = [];
	for (const match of text.matchAll(/(?:\b(?:import|export)\b[^'";]*?\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
		const base = normalize(join(dirname(file), match[1])).replace(/\.js$/, '');
		const target = [`${base}.ts`, `${base}.tsx`].find(path => existsSync(path));
		if (target === undefined) {
			throw new Error(`${relative(root, file)}: cannot resolve ${match[1]}`);
		}

		found.push(target);
	}

	return found;
}

const files = sources(join(root, 'src'));
const graph = new Map(files.map(file => [file, importsOf(file)]));
const problems = [];

for (const [file, targets] of graph) {
	const from = layerOf(file);
	for (const target of targets) {
		const to = layerOf(target);
		const upward = rank[to] > rank[from] || (rank[to] === rank[from] && to !== from);
		if (upward) {
			problems.push(`${relative(root, file)} (${from}) imports ${relative(root, target)} (${to}), a layer not below it`);
		}
	}
}

// Tarjan's strongly connected components: any component of more than one file is a cycle.
let counter = 0;
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
function visit(file) {
	index.set(file, counter);
	low.set(file, counter);
	counter++;
	stack.push(file);
	onStack.add(file);
	for (const target of graph.get(file)) {
		if (!index.has(target)) {
			visit(target);
			low.set(file, Math.min(low.get(file), low.get(target)));
		} else if (onStack.has(target)) {
			low.set(file, Math.min(low.get(file), index.get(target)));
		}
	}

	if (low.get(file) === index.get(file)) {
		const component = [];
		let member;
		do {
			member = stack.pop();
			onStack.delete(member);
			component.push(member);
		} while (member !== file);
		if (component.length > 1 || graph.get(file).includes(file)) {
			problems.push(`import cycle: ${component.map(path => relative(root, path)).sort().join(' <-> ')}`);
		}
	}
}

for (const file of files) {
	if (!index.has(file)) {
		visit(file);
	}
}

if (problems.length > 0) {
	for (const problem of problems) {
		console.error(problem);
	}

	process.exitCode = 1;
}
