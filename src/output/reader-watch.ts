// Noticing that the reader of the output has gone when nothing is being written: a write
// would fail with EPIPE, but a quiet host (or a narrow filter, or a long -d) may give nothing
// to write for a long time.

/** Calls onGone once readerGone() says so, asking twice a second; returns what stops asking. */
export function watchReader(readerGone: (() => boolean) | undefined, onGone: () => void): () => void {
	if (!readerGone) {
		return () => {};
	}

	const watch = setInterval(() => {
		if (readerGone()) {
			onGone();
		}
	}, 500);
	return () => {
		clearInterval(watch);
	};
}
