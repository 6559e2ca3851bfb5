/** The library's own name and version, for reports and manifests. */
import pkg from '../package.json' with { type: 'json' };

export const LIBRARY = { name: pkg.name, version: pkg.version } as const;
