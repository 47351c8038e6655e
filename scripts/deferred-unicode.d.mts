// Types of scripts/deferred-unicode.mjs, for the test that checks it.
import type {Plugin} from 'esbuild';

export function viewSymbols(root: URL): string;
export function patchStringWidth(source: string, symbols: string): string;
export function patchAnsiTokenize(source: string, symbols: string): string;
export function patchSliceAnsi(source: string, symbols: string): string;
export function deferredUnicode(root: URL): Plugin;
