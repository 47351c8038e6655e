// The gate on Ink's internals (src/ui/ink-internals.ts): with the Ink installed every
// workaround is on; on another Ink, or with an internal missing, each is off and says what is
// used instead. And the public paths used then: keys from the stdin stream split as Ink
// splits them, into the same keys. (No JSX here: its runtime import would load React before
// ui-env chooses React's production build.)
import './helpers/ui-env.js';
import {EventEmitter} from 'node:events';
import {PassThrough} from 'node:stream';
import {setTimeout as delay} from 'node:timers/promises';
import test from 'ava';
import {render, Text, useStdin} from 'ink';
import {createElement, useEffect} from 'react';
import {debugLines, decideWorkarounds, inkInputEvents, inkInternals, inkVersion, workaroundNames} from '../src/ui/ink-internals.js';
import {boundInkTextCache, textCacheLimit} from '../src/ui/ink-text-cache.js';
import {InputSplitter, type KeyPress} from '../src/ui/keys.js';
import {listenForKeys} from '../src/ui/use-keys.js';

const inkEntry = import.meta.resolve('ink');

test('with the Ink installed, the one the workarounds were written for, every workaround is on', async t => {
	const {version, workarounds, output, textCache} = await inkInternals();
	t.is(version, inkVersion);
	for (const name of workaroundNames) {
		t.true(workarounds[name].active, workarounds[name].description);
		t.regex(workarounds[name].description, /^[^\n]+ on: [^\n]+$/);
	}

	t.truthy(output);
	t.true(textCache instanceof Map);
	// The real Ink's stdin context carries its input events.
	const context = {internal_eventEmitter: new EventEmitter()} as unknown as Parameters<typeof inkInputEvents>[0];
	t.is(inkInputEvents(context), (context as unknown as {internal_eventEmitter: EventEmitter}).internal_eventEmitter);
	t.is(inkInputEvents({} as Parameters<typeof inkInputEvents>[0]), undefined, 'a context without them: the stdin stream');
});

test('on another Ink version every workaround is off, and says why and what is used instead', t => {
	for (const version of ['6.9.0', '6.8.1', '7.0.0', undefined]) {
		const workarounds = decideWorkarounds({version, missing: {}});
		for (const name of workaroundNames) {
			t.false(workarounds[name].active, `${name} on ${version}`);
			t.true(workarounds[name].description.includes(`off (Ink ${version ?? 'of unknown version'} installed, written for ${inkVersion}): `), workarounds[name].description);
		}
	}

	const off = decideWorkarounds({version: '6.9.0', missing: {}});
	t.regex(off.fastOutput.description, /Ink's own Output\.get/);
	t.regex(off.textCache.description, /Ink's own cache/);
	t.regex(off.inputEvents.description, /stdin stream's data events/);
	t.regex(off.frameWriter.description, /standard rendering/);
	t.deepEqual(debugLines({version: '6.9.0', workarounds: off}), ['Ink 6.9.0', ...workaroundNames.map(name => off[name].description)], 'what --debug prints');
});

test('on the written-for version, a missing internal turns off its workaround only', t => {
	for (const name of workaroundNames) {
		const workarounds = decideWorkarounds({version: inkVersion, missing: {[name]: 'not there'}});
		for (const other of workaroundNames) {
			t.is(workarounds[other].active, other !== name, `${other} with ${name} missing`);
		}

		t.true(workarounds[name].description.includes('off (not there): '), workarounds[name].description);
	}
});

test('the text-size cache Ink measures through is bounded', async t => {
	t.true(await boundInkTextCache());
	const {textCache} = await inkInternals();
	// The module Ink itself imports (build/dom.js imports ./measure-text.js).
	const {default: measureText} = await import(new URL('measure-text.js', inkEntry).href) as {default: (text: string) => {width: number}};
	for (let index = 0; index < textCacheLimit * 2; index++) {
		t.is(measureText(`line ${index} `.padEnd(40, '-')).width, 40);
	}

	t.true(textCache!.size <= textCacheLimit, `${textCache!.size} texts kept`);
	t.true(textCache!.size > 0, 'the cache still caches');
});

/** Ink's own input parser (the events it hands its internal_eventEmitter). */
async function inkParser(): Promise<{push(chunk: string): string[]; flushPendingEscape(): string | undefined}> {
	const {createInputParser} = await import(new URL('input-parser.js', inkEntry).href) as {createInputParser: () => {push(chunk: string): string[]; flushPendingEscape(): string | undefined}};
	return createInputParser();
}

test('raw input is split into the events Ink\'s own parser makes, chunk by chunk', async t => {
	const inputs: string[][] = [
		['q'], ['abc'], ['\u001B[A\u001B[B'], ['x\u001B[17~y'], ['\u001B'], ['\u001B\u001B'], ['\u001B\u001B[A'], ['\u001B\u001Bx'],
		['\u001Bx'], ['\u001B[1;5P'], ['\u001B[[A'], ['\u001BOA\u001BO'], ['\u001B]0;title\u0007q'], ['\u001B[<0;1;1M'],
		['\u001B[200~pasted\u001B[201~'], ['数据库😀'], ['\u001B😀'], ['\u001B[1', '7~'], ['\u001B', '[A'], ['\u001BO', 'B'],
		['a\u001B', '\u001B[C'], ['\u001B[1;\u0007x'], ['\r\t\u007F\u0003'],
	];
	for (const chunks of inputs) {
		const ink = await inkParser();
		const splitter = new InputSplitter();
		const expected: string[] = [];
		const got: string[] = [];
		for (const chunk of chunks) {
			expected.push(...ink.push(chunk));
			got.push(...splitter.push(chunk));
		}

		const pending = ink.flushPendingEscape();
		expected.push(...(pending === undefined ? [] : [pending]));
		got.push(...splitter.flush());
		t.deepEqual(got, expected, JSON.stringify(chunks));
	}
});

/** A stdin stream as Ink reads a terminal's: a real stream, raw mode a no-op. */
function terminalInput() {
	return Object.assign(new PassThrough(), {isTTY: true, setRawMode: () => undefined, ref: () => undefined, unref: () => undefined});
}

test('keys read from the stdin stream (Ink\'s input events not used) are the same keys, and the stream is left still', async t => {
	const stdin = terminalInput();
	const stdout = Object.assign(new EventEmitter(), {columns: 40, rows: 5, write: () => true});
	const pressed: KeyPress[] = [];
	function Keys() {
		const context = useStdin();
		useEffect(() => listenForKeys(context, undefined, presses => pressed.push(...presses)), [context]);
		return createElement(Text, null, 'keys');
	}

	const instance = render(createElement(Keys), {stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, debug: true, exitOnCtrlC: false, patchConsole: false});
	await delay(20);
	// (A sequence cut across chunks is held as Ink holds it: the splitter's test above.)
	for (const chunk of ['\u001B[17~q', '\u001B[21~', '\u001B[A/x\r', '\u001B']) {
		stdin.write(chunk);
		await delay(20);
	}

	t.deepEqual(pressed, [{name: 'f6'}, {text: 'q'}, {name: 'f10'}, {name: 'up'}, {text: '/'}, {text: 'x'}, {name: 'enter'}, {name: 'escape'}]);
	instance.unmount();
	await delay(10);
	t.not(stdin.readableFlowing, true, 'nothing reads the stream after the view');
	t.is(stdin.listenerCount('data'), 0);
	t.is(stdin.listenerCount('readable'), 0);
});
