// The repository root, found from wherever esbuild put the bundle (out/test/unit, out/bench, the
// integration suites' out/test/integration…): no import, so any bundle, the extension host's
// included, can use it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
