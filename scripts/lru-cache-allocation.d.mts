// Types of scripts/lru-cache-allocation.mjs, for the test that checks it.
import type {Plugin} from 'esbuild';

export function patchLruCache(source: string, file: string): string;
export function lruCacheAllocation(): Plugin;
