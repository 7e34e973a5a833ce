/** The explorer page's and worker's scripts, each bundled into one minified file. */
export function bundleExplore(): Promise<{ page: string; worker: string }>;
