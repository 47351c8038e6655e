// Where tcptop's package is: the folder of the package.json nearest above this module, whether
// it runs from src/ (tests), from the bundle in dist/ or from an installed package.
import {existsSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
	if (root === undefined) {
		let folder = dirname(fileURLToPath(import.meta.url));
		while (!existsSync(join(folder, 'package.json')) && dirname(folder) !== folder) {
			folder = dirname(folder);
		}

		root = folder;
	}

	return root;
}
