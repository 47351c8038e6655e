// Ink 6.8 remembers the size of every text it has laid out in a module-level Map that is
// never emptied (measure-text.js), so a view that refreshes for hours grows by every line
// that changed in every frame: about 30 MB an hour at 1 s. This gives that Map a bound: when
// it holds `limit` texts it starts over, which costs the next frame a re-measure of its lines.
//
// The Map is private to its module. It is found by loading that module first, while `Map`
// notes the instances made, and asking which of them has just cached a probe text. Nothing
// changes when the module is already loaded or the Map is not found (another Ink).

type MeasureText = (text: string) => {width: number; height: number};

const limit = 4096;

/** Bounds Ink's text-size cache; must run before Ink is first imported. False if it could not. */
export async function boundInkTextCache(): Promise<boolean> {
	const NativeMap = globalThis.Map;
	const made: Array<Map<unknown, unknown>> = [];
	globalThis.Map = class extends NativeMap<unknown, unknown> {
		constructor(entries?: Iterable<readonly [unknown, unknown]> | null) {
			super(entries);
			made.push(this);
		}
	} as MapConstructor;
	let measureText: MeasureText;
	try {
		({default: measureText} = await import(new URL('measure-text.js', import.meta.resolve('ink')).href) as {default: MeasureText});
	} finally {
		globalThis.Map = NativeMap;
	}

	const probe = '\u0000tcptop probe';
	measureText(probe);
	const caches = made.filter(map => map.has(probe));
	if (caches.length !== 1) {
		return false;
	}

	const cache = caches[0]!;
	cache.delete(probe);
	cache.set = function (key: unknown, value: unknown) {
		if (this.size >= limit) {
			this.clear();
		}

		return NativeMap.prototype.set.call(this, key, value);
	};

	return true;
}
