/**
 * Channel names shared by preload and host; one per bridge action. In a file of their own,
 * free of zod, because the sandboxed preload bundles them: a sandboxed preload may only
 * load Electron's own module, so everything else it imports is inlined into it.
 */
export const BRIDGE_CHANNELS = {
  getView: 'airpanel:get-view',
  view: 'airpanel:view',
  framePresented: 'airpanel:frame-presented',
  reportError: 'airpanel:report-error',
} as const;
