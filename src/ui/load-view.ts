// The live view's modules, loaded when the view starts: the other modes never load Ink.
//
// Ink lays out with yoga, which compiles its WebAssembly from a data: URL when it loads. Where
// a global fetch exists it reads that URL through fetch, and in Node the first call of fetch
// loads undici, Node's HTTP client (measured: 60-100 ms of the view's start, for nothing tcptop
// uses); without one, yoga decodes the base64 itself. So fetch is taken away while the view's
// modules load (nothing else tcptop runs meanwhile calls it) and put back once they have.
export async function loadView() {
	const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
	delete (globalThis as {fetch?: unknown}).fetch;
	try {
		const [{runView}, {initialViewState}, {replayOrigin}, {debugLines, inkInternals}] = await Promise.all([
			import('./run-view.js'), import('./view-state.js'), import('./view-origin.js'), import('./ink-internals.js'),
		]);
		return {runView, initialViewState, replayOrigin, debugLines, inkInternals};
	} finally {
		if (fetchProperty) {
			Object.defineProperty(globalThis, 'fetch', fetchProperty);
		}
	}
}
