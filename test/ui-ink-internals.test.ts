// The gate on Ink's internals (src/ui/ink-internals.ts): with the Ink installed every
// workaround is on; on another Ink, or with an internal missing, each is off and says what is
// used instead.
import './helpers/ui-env.js';
import test from 'ava';
import {decideWorkarounds, inkInternals, inkVersion, workaroundNames} from '../src/ui/ink-internals.js';
import {boundInkTextCache, textCacheLimit} from '../src/ui/ink-text-cache.js';

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
