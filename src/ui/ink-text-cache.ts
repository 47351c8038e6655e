// Ink 6.8 remembers the size of every text it has laid out in a module-level Map that is
// never emptied (measure-text.js), so a view that refreshes for hours grows by every line
// that changed in every frame: about 30 MB an hour at 1 s. This gives that Map a bound: when
// it holds `textCacheLimit` texts it starts over, which costs the next frame a re-measure of
// its lines. The Map is private to its module: src/ui/ink-internals.ts finds it, on the Ink
// release this was written for only; with any other Ink, Ink's own cache stays unbounded.
import {inkInternals} from './ink-internals.js';

/** The most texts Ink's text-size cache holds once bounded. */
export const textCacheLimit = 4096;

/** Bounds Ink's text-size cache, before or after Ink has drawn. False (not bounded) if it could not. */
export async function boundInkTextCache(): Promise<boolean> {
	const {textCache} = await inkInternals();
	if (!textCache) {
		return false;
	}

	// Only this one Map's `set` changes (an own property); every other Map is left alone.
	// Called with .call on the Map it belongs to.
	// eslint-disable-next-line @typescript-eslint/unbound-method
	const nativeSet = Map.prototype.set;
	textCache.set = function (key: unknown, value: unknown) {
		if (this.size >= textCacheLimit) {
			this.clear();
		}

		return nativeSet.call(this, key, value);
	};

	return true;
}
