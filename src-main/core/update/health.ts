/**
 * How a bundle tells the loader it is healthy (first frame rendered and the core running):
 * one IPC message to the parent process. The loader starts bundles with an IPC channel
 * (Electron main supports `process.send` when spawned that way). Harmless when unsupervised.
 */
export const HEALTHY_MESSAGE = { type: 'airpanel/healthy' } as const;

export function reportHealthyToLoader(send: ((msg: unknown) => boolean) | undefined = process.send?.bind(process)): boolean {
  if (!send) return false;
  try {
    return send(HEALTHY_MESSAGE);
  } catch {
    return false;
  }
}

/** The loader's launch info, from the environment it sets. */
export function launchInfoFromEnv(env: NodeJS.ProcessEnv = process.env): { version: string | null; launch: string } {
  return { version: env.AIRPANEL_BUNDLE_VERSION ?? null, launch: env.AIRPANEL_LAUNCH ?? 'unsupervised' };
}
